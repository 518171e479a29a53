"""Admin API: a user's password, ``/users/{user_id}/password`` (platform.md §4.3.5).

The password is hashed by Django's hashers through ``services/passwords.py``, under the
account's row lock, as the profile sets it. As in Hanko's admin API there is no minimum length
and no ``AUTH_PASSWORD_VALIDATORS`` check: the operator chooses. Unlike Hanko (security-checks
AD-07) a change is audited naming the API key, a replaced or removed password ends the user's
sessions, and a replaced one sends the ``password_update`` notification.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.urls import path
from rest_framework.request import Request

from hankoflow import emails, signals
from hankoflow.api.admin.base import actor
from hankoflow.api.admin.user_scope import (
    ApiError,
    UserResourceView,
    json_object,
    user_or_404,
)
from hankoflow.models import Account
from hankoflow.services import accounts, admin_user, audit, events, notifications, passwords

PASSWORD_NOT_FOUND = "password not found"  # noqa: S105 (a message)
CONTEXT = "admin"


def _new_password(request: Request) -> str:
    raw = json_object(request).get("password")
    if not isinstance(raw, str) or raw == "":
        raise ApiError(400, "password is a required field")
    if len(raw.encode("utf-8")) > passwords.MAX_BYTES:
        # Hanko: bcrypt refuses it and the answer is a 500; we say 400, with the limit.
        raise ApiError(400, f"password must not be longer than {passwords.MAX_BYTES} bytes")
    return raw


def _answer(account: Account) -> JsonResponse:
    return JsonResponse(admin_user.password_object(account))


class PasswordView(UserResourceView):
    def get(self, request: Request, user_id: str) -> JsonResponse:
        account = user_or_404(user_id)
        if admin_user.password_object(account) is None:
            raise ApiError(404, PASSWORD_NOT_FOUND)
        return _answer(account)

    def post(self, request: Request, user_id: str) -> JsonResponse:
        account = user_or_404(user_id)
        raw = _new_password(request)
        with transaction.atomic():
            account = accounts.lock(account)
            if accounts.has_password(account.user):
                raise ApiError(409, "password already exists")
            passwords.set_password(account, raw)
            audit.record(
                audit.PASSWORD_CHANGED,
                env=self.env,
                account=account,
                details=actor(request, context=CONTEXT),
            )
            events.credential_added(account, signals.CREDENTIAL_PASSWORD, None, env=self.env)
        return _answer(account)

    def put(self, request: Request, user_id: str) -> JsonResponse:
        account = user_or_404(user_id)
        raw = _new_password(request)
        with transaction.atomic():
            account = accounts.lock(account)
            if not accounts.has_password(account.user):
                raise ApiError(404, PASSWORD_NOT_FOUND)
            passwords.set_password(account, raw)
            audit.record(
                audit.PASSWORD_CHANGED,
                env=self.env,
                account=account,
                details=actor(request, context=CONTEXT),
            )
            # Hanko: no notification, sessions survive (security-checks AD-07, PW-07).
            notifications.notify(account, emails.PASSWORD_UPDATE, env=self.env)
            passwords.end_other_sessions(
                account, keep=None, env=self.env, audit_details=actor(request, context=CONTEXT)
            )
        return _answer(account)

    def delete(self, request: Request, user_id: str) -> HttpResponse:
        account = user_or_404(user_id)
        with transaction.atomic():
            account = accounts.lock(account)
            # Hanko: as its admin API, no "last way in" rule: an admin may remove it anyway.
            if not passwords.remove_password(account):
                raise ApiError(404, PASSWORD_NOT_FOUND)
            audit.record(
                audit.PASSWORD_DELETED,
                env=self.env,
                account=account,
                details=actor(request, context=CONTEXT),
            )
            events.credential_removed(
                account, signals.CREDENTIAL_PASSWORD, None, request=request._request
            )
            # Hanko: sessions survive; whoever knew the password may hold one (PW-07).
            passwords.end_other_sessions(
                account, keep=None, env=self.env, audit_details=actor(request, context=CONTEXT)
            )
        return HttpResponse(status=204)


urlpatterns = [
    path("users/<str:user_id>/password", PasswordView.as_view(), name="user-password"),
]
