"""Admin API: a user's WebAuthn credentials and authenticator app,
``/users/{user_id}/webauthn_credentials`` and ``/users/{user_id}/otp`` (platform.md §4.3.4,
§4.3.7).

Deletions lock the account and go through the services the profile uses, so they send
``credential_removed``; they skip the profile's "last way in" rule (an admin may remove any
credential). Hanko writes no audit entry for them; we write ``passkey_deleted`` with the
credential's ``kind`` and the API key, as Django admin's removals do (``services/staff.py``).
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.urls import path
from rest_framework.request import Request

from hankoflow import signals
from hankoflow.api.admin.base import actor
from hankoflow.api.admin.user_scope import ApiError, UserResourceView, user_or_404
from hankoflow.models import Account, WebauthnCredential
from hankoflow.services import accounts, audit, totp, webauthn
from hankoflow.services.accounts import rfc3339

CREDENTIAL_NOT_FOUND = "webauthn credential not found"
OTP_NOT_FOUND = "otp secret not found"
MAX_CREDENTIAL_ID_LENGTH = 1400  # base64url of WebAuthn's 1023-byte limit, with room


def _credential_of(account: Account, credential_id: str) -> WebauthnCredential:
    found = None
    if len(credential_id) <= MAX_CREDENTIAL_ID_LENGTH:
        found = webauthn.find_credential(account, credential_id)
    if found is None:
        raise ApiError(404, CREDENTIAL_NOT_FOUND)
    return found


class CredentialsView(UserResourceView):
    def get(self, request: Request, user_id: str) -> JsonResponse:
        account = user_or_404(user_id)
        data = [webauthn.credential_dto(c) for c in webauthn.credentials_of(account)]
        return JsonResponse(data, safe=False)


class CredentialView(UserResourceView):
    def get(self, request: Request, user_id: str, credential_id: str) -> JsonResponse:
        account = user_or_404(user_id)
        return JsonResponse(webauthn.credential_dto(_credential_of(account, credential_id)))

    def delete(self, request: Request, user_id: str, credential_id: str) -> HttpResponse:
        account = user_or_404(user_id)
        _credential_of(account, credential_id)
        with transaction.atomic():
            account = accounts.lock(account)
            credential = _credential_of(account, credential_id)
            if not webauthn.delete_credential(credential, request=request._request):
                raise ApiError(404, CREDENTIAL_NOT_FOUND)
            kind = (
                signals.CREDENTIAL_SECURITY_KEY
                if credential.mfa_only
                else signals.CREDENTIAL_PASSKEY
            )
            audit.record(
                audit.PASSKEY_DELETED,
                env=self.env,
                account=account,
                details=actor(request, kind=kind, credential_id=credential.id),
            )
        return HttpResponse(status=204)


class OtpView(UserResourceView):
    def get(self, request: Request, user_id: str) -> JsonResponse:
        secret = accounts.otp_secret_of(user_or_404(user_id))
        if secret is None:
            raise ApiError(404, OTP_NOT_FOUND)
        return JsonResponse({"id": str(secret.id), "created_at": rfc3339(secret.created_at)})

    def delete(self, request: Request, user_id: str) -> HttpResponse:
        account = user_or_404(user_id)
        with transaction.atomic():
            account = accounts.lock(account)
            secret = accounts.otp_secret_of(account)
            if secret is None or not totp.remove_secret(account, request=request._request):
                raise ApiError(404, OTP_NOT_FOUND)
            # Hanko: no notification and no audit type for it; we audit as Django admin does.
            audit.record(
                audit.PASSKEY_DELETED,
                env=self.env,
                account=account,
                details=actor(request, kind=signals.CREDENTIAL_TOTP, credential_id=str(secret.id)),
            )
        return HttpResponse(status=204)


urlpatterns = [
    path(
        "users/<str:user_id>/webauthn_credentials",
        CredentialsView.as_view(),
        name="user-webauthn-credentials",
    ),
    path(
        "users/<str:user_id>/webauthn_credentials/<str:credential_id>",
        CredentialView.as_view(),
        name="user-webauthn-credential",
    ),
    path("users/<str:user_id>/otp", OtpView.as_view(), name="user-otp"),
]
