"""What the admin pages share: read-only behaviour, links between pages, key fingerprints."""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from hankoflow.http.request import RequestEnv, request_env


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows are written by the services only: staff may look, and delete where a page allows."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ActionsOnlyAdmin(ReadOnlyAdmin):
    """Read-only pages whose change permission allows actions (resend, rotate, retire) only:
    every field stays read-only and the change page has no save buttons."""

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin.ModelAdmin.has_change_permission(self, request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields or ()

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> Any:
        no_save = {"show_save": False, "show_save_and_continue": False}
        return super().change_view(
            request, object_id, form_url, {**no_save, **(extra_context or {})}
        )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Nothing on these pages is edited by hand."""


def env(request: HttpRequest) -> RequestEnv:
    """The admin request's facts, for the audit entries the staff services write."""
    return request_env(request)


def admin_url(model: type[Model] | Model, pk: Any = None, *, view: str = "change") -> str | None:
    """The admin URL of a model's page (``changelist``) or of one row, None if not registered."""
    meta = model._meta
    name = f"admin:{meta.app_label}_{meta.model_name}_{view}"
    try:
        return reverse(name, args=[pk] if pk is not None else None)
    except NoReverseMatch:
        return None


def link(url: str | None, text: Any) -> str:
    return format_html('<a href="{}">{}</a>', url, text) if url else str(text)


def user_link(user_model: type[Model], user_pk: Any, text: Any) -> str:
    """A link to the user's change page (the project's user admin)."""
    if user_pk is None:
        return "-"
    return link(admin_url(user_model, user_pk), text)


def fingerprint(value: str) -> str:
    """A short SHA-256 fingerprint of public key material: enough to tell keys apart."""
    digest = hashlib.sha256(value.encode()).hexdigest()[:16]
    return ":".join(digest[i : i + 4] for i in range(0, 16, 4))
