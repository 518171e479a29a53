"""API keys of the admin API: list, create (the key is shown once, on the page that follows)
and revoke, as ``manage.py hankoflow_api_key`` does. The digest is never shown; a revoked key
stays listed, for the audit entries that name it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from hankoflow.models import ApiKey
from hankoflow.services import api_keys

SHOWN = [
    "name",
    "scope",
    "prefix_shown",
    "status",
    "created_at",
    "created_by",
    "last_used_at",
    "revoked_at",
]


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name", "scope"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = SHOWN
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["name", "scope"] if obj is None else SHOWN

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj is None else SHOWN

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: audit entries name the key

    @admin.display(description="key")
    def prefix_shown(self, key: ApiKey) -> str:
        return f"{key.prefix}…"

    @admin.display(description="status")
    def status(self, key: ApiKey) -> str:
        return "revoked" if key.revoked_at else "active"

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            return  # nothing of a key is edited: it is created or revoked
        new = api_keys.create(
            form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            created_by=request.user.get_username(),
        )
        obj.pk, obj._state.adding, obj._state.db = new.key.pk, False, new.key._state.db
        obj.prefix, obj.created_at = new.key.prefix, new.key.created_at
        request._hankoflow_new_api_key = new.plaintext  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: ApiKey, post_url_continue: Any = None
    ) -> HttpResponse:
        # The key is rendered on this page only: never in a message (kept in the session or a
        # cookie) or a URL.
        context = {
            **self.admin_site.each_context(request),
            "key": obj,
            "plaintext": request._hankoflow_new_api_key,  # type: ignore[attr-defined]
            "changelist_url": reverse("admin:hankoflow_apikey_changelist"),
            "title": "API key created",
        }
        response = TemplateResponse(request, "hankoflow/admin/api_key_created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(permissions=["change"], description="Revoke selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        revoked = sum(api_keys.revoke(key) for key in queryset)
        self.message_user(request, f"revoked {revoked} API key(s)", messages.SUCCESS)
