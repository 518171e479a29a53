"""WebAuthn credentials and TOTP secrets: read-only, deleted only through the services.

Public keys appear as a short fingerprint; the TOTP secret not at all.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest

from hankoflow.admin.common import ReadOnlyAdmin, env, fingerprint, user_link
from hankoflow.models import OTPSecret, WebauthnCredential
from hankoflow.services import staff


@admin.register(WebauthnCredential)
class WebauthnCredentialAdmin(ReadOnlyAdmin):
    list_display = ["short_id", "kind", "name", "user", "created_at", "last_used_at"]
    list_select_related = ["account", "account__user"]
    list_filter = ["mfa_only", "backup_state", "created_at"]
    search_fields = ["=id", "name", "=account__id", "account__emails__address"]
    show_full_result_count = False
    fields = [
        "id",
        "kind",
        "name",
        "user",
        "public_key_fingerprint",
        "aaguid",
        "attestation_type",
        "transports",
        "sign_count",
        "backup_eligible",
        "backup_state",
        "created_at",
        "last_used_at",
    ]
    readonly_fields = fields

    @admin.display(description="id")
    def short_id(self, credential: WebauthnCredential) -> str:
        return f"{credential.id[:16]}…" if len(credential.id) > 16 else credential.id

    @admin.display(description="kind")
    def kind(self, credential: WebauthnCredential) -> str:
        return "security key" if credential.mfa_only else "passkey"

    @admin.display(description="user")
    def user(self, credential: WebauthnCredential) -> str:
        account = credential.account
        return user_link(get_user_model(), account.user_id, account.user)

    @admin.display(description="public key")
    def public_key_fingerprint(self, credential: WebauthnCredential) -> str:
        return fingerprint(credential.public_key)

    def delete_model(self, request: HttpRequest, obj: WebauthnCredential) -> None:
        staff.remove_credential(obj, staff=request.user, env=env(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for credential in queryset.select_related("account"):
            staff.remove_credential(credential, staff=request.user, env=env(request))


@admin.register(OTPSecret)
class OTPSecretAdmin(ReadOnlyAdmin):
    list_display = ["id", "user", "created_at"]
    list_select_related = ["account", "account__user"]
    search_fields = ["=account__id", "account__emails__address"]
    show_full_result_count = False
    fields = ["id", "user", "created_at"]
    readonly_fields = fields

    @admin.display(description="user")
    def user(self, secret: OTPSecret) -> str:
        return user_link(get_user_model(), secret.account.user_id, secret.account.user)

    def delete_model(self, request: HttpRequest, obj: OTPSecret) -> None:
        staff.remove_totp(obj.account, staff=request.user, env=env(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for secret in queryset.select_related("account"):
            staff.remove_totp(secret.account, staff=request.user, env=env(request))
