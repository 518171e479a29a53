"""Invitations (issue 15: the Flow Execution dialect's INVITED_USER_REGISTRATION).

Staff (Django admin, the admin API, ``manage.py hankoflow_invite``) invite a person by email; the
email carries a single-use code that expires. Only a digest of the code is stored. An invitation
is pending until it is accepted (the invited registration created ``account``), revoked, or
expired; it stays afterwards for the audit trail.
"""

from __future__ import annotations

import uuid

from django.db import models


class Invitation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.CharField(max_length=254, db_index=True, help_text="lower-case")
    code_hash = models.CharField(max_length=64, unique=True, editable=False, help_text="SHA-256")
    language = models.CharField(max_length=16, blank=True, default="", help_text="of the email")
    invited_by = models.CharField(max_length=255, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    account = models.ForeignKey(
        "hankoflow.Account",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations",
        editable=False,
        help_text="the account the invited registration created",
    )

    class Meta:
        db_table = "hankoflow_invitation"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation for {self.email}"
