"""``POST /passcode/login/initialize`` and ``/finalize`` (platform.md §3.3.1-3.3.2): a login
passcode by email, from the flows' passcode service (the ``passcode`` rate limit, the per-code
and per-address attempt budgets) and the flows' mail outbox (``email.send`` webhook).

Mounted, as in Hanko v2.7.0, only while emails are used for authentication and
``MFA.ENABLED`` is off: a passcode alone must not sign in where a second factor may be required.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpResponse
from rest_framework.request import Request

from hankoflow import clock
from hankoflow import names as n
from hankoflow.api.public.legacy.base import (
    BodyInvalid,
    LegacyView,
    body,
    env_of,
    error,
    json,
    limited,
    parse_uuid,
    session_of,
    sign_in,
    string,
)
from hankoflow.conf import settings
from hankoflow.engine import RequestFacts
from hankoflow.models import Account, Passcode
from hankoflow.services import accounts, audit, mail, passcodes, ratelimit


class PasscodeView(LegacyView):
    def available(self) -> bool:
        email = settings.EMAIL
        return bool(email.ENABLED and email.USE_FOR_AUTHENTICATION and not settings.MFA.ENABLED)


def passcode_dto(row: Passcode) -> dict[str, object]:
    return {
        "id": str(row.pk),
        "ttl": int((row.expires_at - row.created_at).total_seconds()),
        "created_at": accounts.rfc3339(row.created_at),
    }


class PasscodeInitializeView(PasscodeView):
    """``{"user_id", "email_id"?}``: send a login passcode to that address or the primary."""

    def post(self, request: Request) -> HttpResponse:
        env = env_of(request)
        try:
            data = body(request)
        except BodyInvalid:
            return error(400)
        user_id = parse_uuid(string(data, "user_id"))
        if user_id is None:
            return error(400, "user_id must be a valid uuid")
        email_id = string(data, "email_id")
        if email_id and parse_uuid(email_id) is None:
            return error(400, "email_id must be a valid uuid")
        account = accounts.get(user_id)
        if account is None:
            return self.failed(env, None, 400, "user not found")
        info = session_of(request)
        if info is not None and info.account.pk != account.pk:
            return self.failed(env, account, 403, "session belongs to another user")
        if email_id:
            email = next((e for e in account.emails.all() if str(e.pk) == email_id.lower()), None)
            if email is None:
                # Hanko: 403 for another user's address; we answer alike for any address that
                # is not this user's, so the id tells nothing about other accounts.
                return self.failed(env, account, 400, "the specified emailId is not available")
        else:
            email = next((e for e in account.emails.all() if e.is_primary), None)
            if email is None:
                # Hanko: falls back to the ``hanko_email_id`` cookie of pre-0.1 elements.
                return self.failed(env, account, 400, "an emailId needs to be specified")
        for bucket, key in ratelimit.passcode_sends(env.ip, email.address):
            if (refused := limited(bucket, key)) is not None:
                return refused
        language = request.headers.get("X-Language") or request.headers.get("Accept-Language", "")
        with transaction.atomic():
            issued = passcodes.issue(email=email.address, account=account, flow_id=None)
            mail.queue(
                n.TEMPLATE_LOGIN,
                to=email.address,
                language=mail.language_for(language),
                context={
                    "service_name": settings.SERVICE.NAME,
                    "ttl_minutes": max(1, settings.EMAIL.PASSCODE_TTL // 60),
                },
                secret={"code": issued.code},
                dedupe_key=mail.passcode_dedupe_key(issued.id),
            )
            audit.record(
                audit.PASSCODE_LOGIN_INIT_SUCCEEDED, env=env, account=account, email=email.address
            )
            row = Passcode.objects.get(pk=issued.id)
        return json(passcode_dto(row))

    def failed(
        self, env: RequestFacts, account: Account | None, status: int, message: str
    ) -> HttpResponse:
        audit.record(audit.PASSCODE_LOGIN_INIT_FAILED, env=env, account=account, error=message)
        return error(status, message)


class PasscodeFinalizeView(PasscodeView):
    """``{"id", "code"}``: check the code; a session for the passcode's user."""

    def post(self, request: Request) -> HttpResponse:
        env = env_of(request)
        try:
            data = body(request)
        except BodyInvalid:
            return error(400)
        passcode_id, code = parse_uuid(string(data, "id")), string(data, "code")
        if passcode_id is None or not code:
            return error(400)
        # Only the passcodes this endpoint sends (no flow): a flow's code stays in its flow.
        row = (
            Passcode.objects.select_related("account")
            .filter(pk=passcode_id, flow_id__isnull=True, account__isnull=False)
            .first()
        )
        if row is None or row.used_at is not None:
            return self.failed(env, None, 401, "passcode not found")
        if row.expires_at <= clock.now():
            return self.failed(env, row.account, 408, "passcode request timed out")
        with transaction.atomic():
            result = passcodes.verify(str(row.pk), code, ip=env.ip)
            if result.max_attempts_reached:
                return self.failed(env, row.account, 410, "max attempts reached")
            if not result.ok:
                return self.failed(env, row.account, 401, "passcode invalid")
            account = accounts.lock(row.account)
            email = next((e for e in account.emails.all() if e.address == row.email), None)
            if email is None:
                # The address left the account since the code was sent.
                return self.failed(env, account, 403, "email not assigned to the user")
            if not email.is_verified:
                accounts.mark_email_verified(account, email.address)
                audit.record(audit.EMAIL_VERIFIED, env=env, account=account, email=email.address)
            response = json(passcode_dto(row))
            sign_in(request, account, response)
            audit.record(
                audit.PASSCODE_LOGIN_FINAL_SUCCEEDED, env=env, account=account, email=row.email
            )
        return response

    def failed(
        self, env: RequestFacts, account: Account | None, status: int, message: str
    ) -> HttpResponse:
        audit.record(audit.PASSCODE_LOGIN_FINAL_FAILED, env=env, account=account, error=message)
        return error(status, message)
