"""The email outbox (platform.md §7, security-checks.md RE-03…RE-05).

Every email is first a row here, written in the same transaction as the flow step that wants it;
a Celery task sends it after the commit, and a sweeper sends what is still pending, so a code is
never lost when Redis or the worker is down. ``context`` holds only what may be stored in the
clear; the passcode itself sits in ``secret`` as a Fernet token (key derived from
``SECRET_KEY``) and is wiped once the email has been sent or has failed for good.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class OutboxEmail(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=64, help_text="template name, platform.md §7.1")
    to = models.CharField(max_length=254)
    language = models.CharField(max_length=16, help_text="Django language code, e.g. pt-br")
    context = models.JSONField(default=dict, blank=True, help_text="template values, no secrets")
    # NULL: no secret, or wiped after delivery.
    secret = models.TextField(  # noqa: DJ001
        null=True, blank=True, editable=False, help_text="Fernet-encrypted JSON, e.g. the code"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="delivery attempts so far")
    last_error = models.TextField(
        blank=True, default="", help_text="last delivery error, or why nothing was sent"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="after a failed attempt: not retried before this"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    dedupe_key = models.CharField(
        max_length=255,
        unique=True,
        null=True,
        blank=True,
        help_text="one email per key, e.g. passcode:<id>",
    )

    class Meta:
        db_table = "hankoflow_outbox_email"
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="hankoflow_outbox_status_idx")
        ]

    def __str__(self) -> str:
        return f"{self.kind} email to {self.to} ({self.status})"
