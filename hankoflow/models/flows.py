"""Stored flows (flow-api.md §1.7, platform.md §1.15).

One row per flow: the engine's stash, a hash of the current CSRF token, a version for the
optimistic check, the absolute expiry, and a bounded history of steps that the admin's flow
inspection reads. The token itself is never stored, only its SHA-256.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Flow(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=32, help_text="login, registration, profile, ...")
    state = models.CharField(max_length=64, help_text="current state (copy of the stash's)")
    stash = models.JSONField(help_text="engine state: schedule, history, data")
    csrf_token_hash = models.CharField(max_length=64)
    version = models.PositiveIntegerField(default=0)
    language = models.CharField(max_length=35, blank=True, help_text="last X-Language sent")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="hankoflow_flows",
    )
    history = models.JSONField(
        default=list, help_text="steps: time, from, action, input names, to, error, IP, agent"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "hankoflow_flow"
        ordering = ["-created_at"]
        # The admin's flow inspection: newest first, filtered by flow, state and outcome.
        indexes = [
            models.Index(fields=["-created_at"], name="hankoflow_flow_created_idx"),
            models.Index(fields=["name", "-created_at"], name="hankoflow_flow_name_idx"),
            models.Index(fields=["state", "expires_at"], name="hankoflow_flow_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} flow {self.id} in {self.state}"
