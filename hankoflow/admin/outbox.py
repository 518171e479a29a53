"""Outbox emails: pending, sent and failed with their last error; resend through the mail service.

The encrypted secret (a passcode) is never shown. A code email cannot be resent once its code
has been wiped (after delivery or failure): the person asks for a new code instead.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from hankoflow.admin.common import ActionsOnlyAdmin
from hankoflow.models import OutboxEmail
from hankoflow.services.mail import requeue


@admin.register(OutboxEmail)
class OutboxEmailAdmin(ActionsOnlyAdmin):
    list_display = ["created_at", "kind", "to", "status", "attempts", "sent_at", "last_error"]
    list_filter = ["status", "kind", "created_at"]
    search_fields = ["to", "=id", "dedupe_key"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = [
        "id",
        "kind",
        "to",
        "language",
        "context",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "next_attempt_at",
        "sent_at",
        "dedupe_key",
    ]
    readonly_fields = fields
    actions = ["resend"]

    @admin.action(permissions=["change"], description="Resend (queue again)")
    def resend(self, request: HttpRequest, queryset: QuerySet) -> None:
        rows = list(queryset)
        queued = sum(requeue(row) for row in rows)
        self.message_user(request, f"{queued} email(s) queued again.", messages.SUCCESS)
        if queued < len(rows):
            self.message_user(
                request,
                f"{len(rows) - queued} not queued: still pending, or a code email whose code "
                "is gone (ask for a new code).",
                messages.WARNING,
            )
