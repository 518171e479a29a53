"""Webhooks: the database hooks (add, edit, enable, disable, send a test event) and their
deliveries with every attempt (read-only; "retry now").

Hooks are written through ``hankoflow.services.webhooks.registry``; an edit is an admin ``PUT``
(failures reset, expiry renewed). A delivery of an ``email.send`` event holds a passcode and is
stored sealed: its data is never shown.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from hankoflow.admin.common import ActionsOnlyAdmin, admin_url, link
from hankoflow.models import Webhook, WebhookAttempt, WebhookDelivery
from hankoflow.services import webhooks
from hankoflow.services.webhooks import events, payloads, registry


class WebhookForm(forms.ModelForm):
    callback = forms.URLField(max_length=2048, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=[(name, name) for name in events.SUBSCRIPTIONS],
        widget=forms.CheckboxSelectMultiple,
        help_text="A hook receives every event whose name starts with one of these.",
    )

    class Meta:
        model = Webhook
        fields = ["callback", "events", "enabled"]

    def clean_callback(self) -> str:
        value = self.cleaned_data["callback"]
        if not value.lower().startswith(("http://", "https://")):
            raise forms.ValidationError("Only http and https callbacks can be called.")
        return value


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookForm
    list_display = ["callback", "subscriptions", "enabled", "failures", "expires_at", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["callback", "=id"]
    readonly_fields = ["id", "failures", "expires_at", "created_at", "updated_at", "deliveries"]
    actions = ["enable", "disable", "send_test_event"]

    @admin.display(description="events")
    def subscriptions(self, hook: Webhook) -> str:
        return ", ".join(hook.events or [])

    @admin.display(description="deliveries")
    def deliveries(self, hook: Webhook) -> str:
        url = admin_url(WebhookDelivery, view="changelist")
        return link(f"{url}?webhook__id__exact={hook.pk}" if url else None, "show deliveries")

    def save_model(self, request: HttpRequest, obj: Webhook, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            hook = Webhook.objects.get(pk=obj.pk)
            registry.replace(
                hook, callback=data["callback"], events=data["events"], enabled=data["enabled"]
            )
        else:
            hook = registry.create(data["callback"], data["events"])
            if not data["enabled"]:
                registry.set_enabled(hook, False)
        obj.pk = hook.pk  # the admin's redirect and log entry name the stored row

    def delete_model(self, request: HttpRequest, obj: Webhook) -> None:
        registry.delete(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for hook in queryset:
            registry.delete(hook)

    @admin.action(permissions=["change"], description="Enable (reset failures, renew expiry)")
    def enable(self, request: HttpRequest, queryset: QuerySet) -> None:
        for hook in queryset:
            registry.set_enabled(hook, True)
        self.message_user(request, f"{queryset.count()} webhook(s) enabled.", messages.SUCCESS)

    @admin.action(permissions=["change"], description="Disable")
    def disable(self, request: HttpRequest, queryset: QuerySet) -> None:
        for hook in queryset:
            registry.set_enabled(hook, False)
        self.message_user(request, f"{queryset.count()} webhook(s) disabled.", messages.SUCCESS)

    @admin.action(permissions=["change"], description=f"Send a test event ({registry.TEST_EVENT})")
    def send_test_event(self, request: HttpRequest, queryset: QuerySet) -> None:
        sent = [registry.send_test(hook) for hook in queryset]
        self.message_user(
            request,
            f"{len(sent)} test event(s) queued; see the deliveries for the answers.",
            messages.SUCCESS,
        )


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["attempted_at", "status_code", "latency_ms", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ActionsOnlyAdmin):
    list_display = [
        "created_at", "event", "callback", "status", "attempts", "last_status_code", "last_error"
    ]  # fmt: skip
    list_filter = ["status", "event", "created_at"]
    search_fields = ["callback", "=id", "event"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = [
        "id", "hook", "callback", "event", "payload", "status", "attempts", "last_status_code",
        "last_error", "created_at", "next_attempt_at", "sent_at",
    ]  # fmt: skip
    inlines = [AttemptInline]
    actions = ["retry_now"]

    @admin.display(description="webhook")
    def hook(self, row: WebhookDelivery) -> str:
        if row.webhook_id is None:
            return "WEBHOOKS.HOOKS (settings)"
        return link(admin_url(Webhook, row.webhook_id), row.webhook_id)

    @admin.display(description="data")
    def payload(self, row: WebhookDelivery) -> str:
        if set(row.data or {}) == {payloads.SEALED}:
            return "(sealed: it holds a passcode)"
        return json.dumps(row.data, indent=2, sort_keys=True)

    @admin.action(permissions=["change"], description="Retry now")
    def retry_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        rows = list(queryset)
        queued = sum(webhooks.requeue(row) for row in rows)
        self.message_user(request, f"{queued} delivery(ies) queued again.", messages.SUCCESS)
        if queued < len(rows):
            self.message_user(
                request, f"{len(rows) - queued} already pending and due.", messages.WARNING
            )
