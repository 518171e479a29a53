"""Session signing keys: list, rotate and retire, as ``manage.py hankoflow_jwk`` does.

The private key is never shown; the public key only as a short fingerprint.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet, Subquery
from django.http import HttpRequest

from hankoflow.admin.common import ActionsOnlyAdmin, fingerprint
from hankoflow.models import SigningKey
from hankoflow.services import jwks


@admin.register(SigningKey)
class SigningKeyAdmin(ActionsOnlyAdmin):
    list_display = ["kid", "status", "created_at", "retired_at", "public_key_fingerprint"]
    fields = ["kid", "status", "created_at", "retired_at", "public_key_fingerprint"]
    readonly_fields = fields
    actions = ["rotate", "retire"]

    @admin.display(description="status")
    def status(self, key: SigningKey) -> str:
        if key.retired_at is not None:
            return "retired"
        return "signing" if key.kid == key.signing_kid else "verifying"  # type: ignore[attr-defined]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The signing key is the newest unretired one: a subquery, not a query per row.
        signing = SigningKey.objects.filter(retired_at__isnull=True).order_by("-created_at", "-id")
        return (
            super().get_queryset(request).annotate(signing_kid=Subquery(signing.values("kid")[:1]))
        )

    @admin.display(description="public key")
    def public_key_fingerprint(self, key: SigningKey) -> str:
        return fingerprint(str((key.public_jwk or {}).get("n", "")))

    @admin.action(permissions=["change"], description="Rotate: create a new signing key")
    def rotate(self, request: HttpRequest, queryset: QuerySet) -> None:
        row = jwks.rotate()
        self.message_user(request, f"new signing key {row.kid}", messages.SUCCESS)

    @admin.action(
        permissions=["change"], description="Retire selected keys (tokens stop validating)"
    )
    def retire(self, request: HttpRequest, queryset: QuerySet) -> None:
        for kid in queryset.values_list("kid", flat=True):
            try:
                # The command's checks without --force: an unknown or retired key, the key that
                # signs and a key live sessions may still need are refused.
                jwks.retire_checked(kid)
            except jwks.RetireRefused as refused:
                self.message_user(request, str(refused), messages.ERROR)
            else:
                self.message_user(
                    request,
                    jwks.retired_message(kid),
                    messages.SUCCESS,
                )
