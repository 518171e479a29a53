"""``POST /password/login`` and ``PUT /password`` (platform.md §3.3.3, §3.3.4), served by the
flows' password service: the attempt budget of ``verify_login``, the ``password`` rate limit
and the new-password rules of ``new_password_errors``.

Mounted, as in Hanko v2.7.0, only while ``PASSWORD.ENABLED`` and not ``MFA.ENABLED``: a
password alone must not sign in where a second factor may be required.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpResponse
from rest_framework.request import Request

from hankoflow import emails, errors, signals
from hankoflow.api.public.legacy.base import (
    BodyInvalid,
    LegacyView,
    body,
    env_of,
    error,
    limited,
    null,
    parse_uuid,
    reauthentication_refusal,
    same_user,
    session_of,
    sign_in,
    string,
    unauthorized,
)
from hankoflow.conf import settings
from hankoflow.services import (
    accounts,
    audit,
    events,
    notifications,
    passwords,
    ratelimit,
    webhooks,
)


class PasswordView(LegacyView):
    def available(self) -> bool:
        return bool(settings.PASSWORD.ENABLED and not settings.MFA.ENABLED)


class PasswordLoginView(PasswordView):
    """``POST /password/login {"user_id", "password"}``: a session and ``null``, or 401."""

    def post(self, request: Request) -> HttpResponse:
        env = env_of(request)
        try:
            data = body(request)
        except BodyInvalid:
            return error(400)
        user_id, raw = string(data, "user_id"), string(data, "password")
        if not user_id or not raw:
            return error(400)
        refused = limited(ratelimit.Bucket.PASSWORD, ratelimit.password_key(env.ip, user_id))
        if refused is not None:
            return refused
        if len(raw.encode("utf-8")) > passwords.MAX_BYTES:
            return error(400, "password must not be longer than 72 bytes")
        if parse_uuid(user_id) is None:
            return error(400, "user_id must be a valid uuid")
        account = accounts.get(user_id)
        with transaction.atomic():
            check = passwords.verify_login(account, raw, identifier=user_id, ip=env.ip)
            if check.retry_after:
                response = error(429)
                response["Retry-After"] = str(check.retry_after)
                return response
            if account is None or not check.ok:
                audit.record(
                    audit.PASSWORD_LOGIN_FAILED, env=env, account=account, error="wrong password"
                )
                return error(401)
            response = null()
            sign_in(request, account, response)
            audit.record(audit.PASSWORD_LOGIN_SUCCEEDED, env=env, account=account)
        return response


class PasswordSetView(PasswordView):
    """``PUT /password {"user_id", "password"}``: the session user's own password; 201 when
    created, 200 when changed (both ``null``)."""

    def put(self, request: Request) -> HttpResponse:
        info = session_of(request)
        if info is None:
            return unauthorized(request._request)
        env = env_of(request, info)
        try:
            data = body(request)
        except BodyInvalid:
            return error(400)
        user_id, raw = string(data, "user_id"), string(data, "password")
        if not user_id or not raw:
            return error(400)
        if not same_user(info, user_id):
            audit.record(
                audit.PASSWORD_SET_FAILED, env=env, account=info.account, error="wrong user"
            )
            return error(403)
        problem = passwords.new_password_errors(raw, account=info.account)
        if problem is errors.VALUE_TOO_LONG:
            return error(400, "password must not be longer than 72 bytes")
        if problem is not None:
            # Hanko checks the length only; Django's password validators apply here too.
            minimum = settings.PASSWORD.MIN_LENGTH
            message = f"password must be at least {minimum} characters long"
            if len(raw) >= minimum:
                message = problem.cause or "password is not allowed"
            audit.record(audit.PASSWORD_SET_FAILED, env=env, account=info.account, error=message)
            return error(400, message)
        if (refused := reauthentication_refusal(info)) is not None:
            return refused
        with transaction.atomic():
            account = accounts.lock(info.account)
            created = not accounts.has_password(account.user)
            passwords.set_password(account, raw)
            audit.record(audit.PASSWORD_SET_SUCCEEDED, env=env, account=account)
            webhooks.user_changed(webhooks.events.USER_PASSWORD_UPDATE, account, env=env)
            if created:
                events.credential_added(account, signals.CREDENTIAL_PASSWORD, None, env=env)
            else:
                # As the profile's password change: a notice, and every other session ends
                # (Hanko: they survive; security-checks PW-07).
                notifications.notify(account, emails.PASSWORD_UPDATE, env=env)
                passwords.end_other_sessions(account, keep=info.session.pk, env=env)
        return null(201 if created else 200)
