"""Audit log entries (platform.md §1.16, §6.1).

One row per security-relevant event, written in the same transaction as the change it records.
The actor is kept as a plain UUID without a foreign key, as in Hanko, so the trail survives the
deletion of the user. Write rows through ``hankoflow.services.audit.record``; nothing updates or
deletes them except a retention job (security-checks AU-03).
"""

from __future__ import annotations

import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class AuditLogEntry(models.Model):
    """One audited event: what happened, to whom, from where, and with which outcome."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=64, db_index=True, help_text="platform.md §6.3")
    # NULL, not "": Hanko's columns are nullable and the admin API omits absent values.
    error = models.TextField(null=True, blank=True, help_text="failure text")  # noqa: DJ001
    meta_http_request_id = models.CharField(max_length=255, db_index=True)
    meta_source_ip = models.CharField(max_length=64, db_index=True, blank=True)
    meta_user_agent = models.CharField(max_length=512, blank=True)
    # Hanko: no foreign key on purpose, so entries outlive the account.
    actor_user_id = models.UUIDField(null=True, blank=True, db_index=True)
    actor_email = models.CharField(  # noqa: DJ001
        max_length=254, null=True, blank=True, db_index=True
    )
    details = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "hankoflow_audit_log"
        ordering = ["-created_at"]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log entries"

    def __str__(self) -> str:
        return f"{self.type} at {self.created_at:%Y-%m-%d %H:%M:%S}"
