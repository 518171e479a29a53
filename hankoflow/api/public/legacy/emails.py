"""``GET``/``POST /emails``, ``POST /emails/{id}/set_primary``, ``DELETE /emails/{id}``
(platform.md §3.3.11): the session user's addresses, changed under the profile flow's rules
(``email_addresses``: which may be deleted or made primary; the re-authentication window; the
security notices, audit entries and webhooks of the profile's email actions).
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpResponse
from rest_framework.request import Request

from hankoflow import emails as kinds
from hankoflow.api.public.legacy.base import (
    BodyInvalid,
    LegacyView,
    body,
    env_of,
    error,
    json,
    no_store,
    plausible_email,
    reauthentication_refusal,
    session_of,
    string,
    unauthorized,
)
from hankoflow.conf import settings
from hankoflow.engine import RequestFacts
from hankoflow.models import Account, Email
from hankoflow.services import accounts, audit, email_addresses, notifications, webhooks
from hankoflow.services.sessions import SessionInfo

_WEBHOOK_EVENTS = {
    audit.EMAIL_CREATED: webhooks.events.USER_EMAIL_CREATE,
    audit.EMAIL_DELETED: webhooks.events.USER_EMAIL_DELETE,
    audit.PRIMARY_EMAIL_CHANGED: webhooks.events.USER_EMAIL_PRIMARY,
}


def _record(kind: str, env: RequestFacts, account: Account, address: str) -> None:
    audit.record(kind, env=env, account=account, details={"email": address})
    webhooks.user_changed(_WEBHOOK_EVENTS[kind], account, env=env)


def email_dto(email: Email) -> dict[str, object]:
    return {
        "id": str(email.pk),
        "address": email.address,
        "is_verified": email.is_verified,
        "is_primary": email.is_primary,
    }


class EmailsView(LegacyView):
    def available(self) -> bool:
        return bool(settings.EMAIL.ENABLED)

    def session(self, request: Request) -> SessionInfo | None:
        return session_of(request)


class EmailListView(EmailsView):
    def get(self, request: Request) -> HttpResponse:
        """The session user's addresses."""
        info = self.session(request)
        if info is None:
            return unauthorized(request._request)
        return json([email_dto(e) for e in email_addresses.listed(info.account.pk)])

    def post(self, request: Request) -> HttpResponse:
        """``{"address"}``: add an address (only where no verification is required)."""
        info = self.session(request)
        if info is None:
            return unauthorized(request._request)
        try:
            address = accounts.normalise_email(string(body(request), "address"))
        except BodyInvalid:
            return error(400)
        if not plausible_email(address):
            return error(400, "address is not valid")
        if settings.EMAIL.REQUIRE_VERIFICATION:
            # Hanko: stores the address unassigned until a passcode verifies it. hankoflow has no
            # unassigned addresses: the profile flow adds one after its passcode.
            return error(403, "email verification required: use the profile flow")
        if (refused := reauthentication_refusal(info)) is not None:
            return refused
        env = env_of(request, info)
        with transaction.atomic():
            account = accounts.lock(info.account)
            if len(account.emails.all()) >= settings.EMAIL.LIMIT:
                return error(409, "max number of email addresses reached")
            if any(e.address == address for e in account.emails.all()):
                return error(400, "email address already exists")
            before = email_addresses.primary(account)
            try:
                email = accounts.add_email(account, address, verified=False)
            except accounts.EmailAlreadyExists:
                return error(400, "email address already exists")
            _record(audit.EMAIL_CREATED, env, account, address)
            if before is not None:
                notifications.notify(
                    account,
                    kinds.EMAIL_CREATE,
                    env=env,
                    to=before.address,
                    context={"new_email": address},
                )
        # Hanko: the raw email row, with 200 (its OpenAPI says 201).
        return json(
            {
                "id": str(email.pk),
                "user_id": str(account.pk),
                "address": email.address,
                "verified": email.is_verified,
                "created_at": accounts.rfc3339(email.created_at),
                "updated_at": accounts.rfc3339(email.updated_at),
            }
        )


class EmailPrimaryView(EmailsView):
    def post(self, request: Request, email_id: str) -> HttpResponse:
        """Make one of the session user's addresses the primary; 204 (also when it is)."""
        info = self.session(request)
        if info is None:
            return unauthorized(request._request)
        email = email_addresses.find(info.account, email_id)
        if email is None:
            return error(404)
        if email.is_primary:
            return no_content()
        if settings.EMAIL.REQUIRE_VERIFICATION and not email.is_verified:
            # Hanko: any address; as the profile flow, only a verified one while required.
            return error(403, "email address is not verified")
        if (refused := reauthentication_refusal(info)) is not None:
            return refused
        env = env_of(request, info)
        with transaction.atomic():
            account = accounts.lock(info.account)
            email = email_addresses.find(account, email.pk)
            if email is None:
                return error(404)  # deleted meanwhile
            if email.is_primary:
                return no_content()
            previous = email_addresses.set_primary(account, email)
            _record(audit.PRIMARY_EMAIL_CHANGED, env, account, email.address)
            if previous is not None:
                notifications.notify(
                    account,
                    kinds.PRIMARY_EMAIL_UPDATE,
                    env=env,
                    to=previous.address,
                    context={"old_email": previous.address, "new_email": email.address},
                )
        return no_content()


class EmailView(EmailsView):
    def delete(self, request: Request, email_id: str) -> HttpResponse:
        """Delete one of the session user's addresses; 409 for the primary, or for one the
        profile would not let go (the last way in)."""
        info = self.session(request)
        if info is None:
            return unauthorized(request._request)
        email = email_addresses.find(info.account, email_id)
        if email is None:
            return error(404)
        if (refused := reauthentication_refusal(info)) is not None:
            return refused
        env = env_of(request, info)
        with transaction.atomic():
            account = accounts.lock(info.account)
            email = email_addresses.find(account, email.pk)
            if email is None:
                return error(404)  # deleted meanwhile
            if email.is_primary:
                return error(409, "primary email can't be deleted")
            # Hanko: any other address; we apply the profile's rule (a way in must remain).
            if email not in email_addresses.deletable(account):
                return error(409, "email address can't be deleted")
            before = email_addresses.primary(account)
            email_addresses.delete(account, email)
            _record(audit.EMAIL_DELETED, env, account, email.address)
            if before is not None:
                notifications.notify(
                    account,
                    kinds.EMAIL_DELETE,
                    env=env,
                    to=before.address,
                    context={"deleted_email": email.address},
                )
        return no_content()


def no_content() -> HttpResponse:
    return no_store(HttpResponse(status=204))
