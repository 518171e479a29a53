"""Webhooks (platform.md §1.17, §5): hooks defined in the database, and the outbox of their
deliveries.

A ``Webhook`` receives the events whose names start with one of its ``events`` (prefix
matching, §5.2). Every event a hook should get is first a ``WebhookDelivery`` row, written in the
same transaction as the change, with the payload (``data``) but no token: the JWT is signed at
each attempt, so it never expires while a delivery waits for the broker. Each attempt is a
``WebhookAttempt`` (status code, latency, error). Hooks from settings (``WEBHOOKS.HOOKS``) have
deliveries with no ``webhook``.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class Webhook(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    callback = models.URLField(max_length=2048)
    events = models.JSONField(default=list, help_text="event names or prefixes, platform.md §5.2")
    enabled = models.BooleanField(default=True)
    failures = models.PositiveIntegerField(default=0, help_text="consecutive failed deliveries")
    expires_at = models.DateTimeField(help_text="renewed by every success (30 days)")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "hankoflow_webhook"
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.callback


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(
        Webhook, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    callback = models.URLField(max_length=2048, help_text="copied: settings hooks have no row")
    event = models.CharField(max_length=64)
    data = models.JSONField(help_text="the event's payload (the token's data claim)")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "hankoflow_webhook_delivery"
        ordering = ["created_at"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="hankoflow_whdelivery_due")
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.callback} ({self.status})"


class WebhookAttempt(models.Model):
    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        db_table = "hankoflow_webhook_attempt"
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"attempt {self.pk} ({self.status_code or self.error[:40]})"
