"""API keys for the admin API (platform.md §4.1: Hanko Cloud's ``Authorization: Bearer <key>``).

A key is shown once, when it is created; only its SHA-256 digest is stored, with a short prefix
so that people can tell their keys apart. ``scope`` is ``read`` (GET only) or ``full``. A revoked
key stays, for the audit trail that names it.
"""

from __future__ import annotations

import uuid

from django.db import models


class ApiKey(models.Model):
    class Scope(models.TextChoices):
        READ = "read", "read-only"
        FULL = "full", "full"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, help_text="what the key is for, e.g. billing-service")
    prefix = models.CharField(
        max_length=16, db_index=True, editable=False, help_text="the key's first characters"
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False, help_text="SHA-256")
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.READ)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=255, blank=True, default="", editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "hankoflow_api_key"
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
