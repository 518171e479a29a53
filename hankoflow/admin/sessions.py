"""Sessions: list, and revoke (Django's delete) through the sessions service."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest

from hankoflow.admin.common import ReadOnlyAdmin, env, user_link
from hankoflow.models import Session
from hankoflow.services import staff


@admin.register(Session)
class SessionAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "user",
        "ip_address",
        "user_agent",
        "created_at",
        "last_used",
        "expires_at",
    ]
    list_select_related = ["account", "account__user"]
    list_filter = ["created_at", "expires_at"]
    search_fields = ["=id", "=account__id", "ip_address", "account__emails__address"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = ["id", "user", "ip_address", "user_agent", "created_at", "last_used", "expires_at"]
    readonly_fields = fields
    actions = ["revoke_sessions"]

    @admin.display(description="user")
    def user(self, session: Session) -> str:
        return user_link(get_user_model(), session.account.user_id, session.account.user)

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # revoke_sessions does it, through the service
        return actions

    @admin.action(permissions=["delete"], description="Revoke selected sessions")
    def revoke_sessions(self, request: HttpRequest, queryset: QuerySet) -> None:
        ended = sum(
            staff.revoke_session(str(pk), staff=request.user, env=env(request))
            for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"{ended} session(s) revoked.", messages.SUCCESS)

    def delete_model(self, request: HttpRequest, obj: Session) -> None:
        staff.revoke_session(str(obj.pk), staff=request.user, env=env(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.revoke_sessions(request, queryset)
