"""``POST /user``, ``POST /users`` and ``DELETE /user`` (platform.md §3.3.10).

``DELETE /user`` is ``DELETE /me`` under its v2 name. ``POST /user`` finds a user by address and
``POST /users`` signs one up by address alone: both under the privacy rules the flows follow.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.http import HttpResponse
from rest_framework.request import Request

from hankoflow.api.public.legacy.base import (
    BodyInvalid,
    LegacyView,
    body,
    env_of,
    error,
    json,
    plausible_email,
    sign_in,
    string,
)
from hankoflow.api.public.sessions import delete_own_account
from hankoflow.conf import settings
from hankoflow.services import accounts, audit, events, webhooks


class UserView(LegacyView):
    """``POST /user {"email"}``: who owns this address; ``DELETE /user``: the session user
    deletes their own account, as ``DELETE /me`` (404 unless ``ACCOUNT.ALLOW_DELETION``, which
    Hanko v2.7.0 needed to mount it).

    Hanko: answers anyone (no session, no rate limit) whether an address has an account and
    whether it has a passkey: an enumeration oracle. We answer only while
    ``PRIVACY.SHOW_ACCOUNT_EXISTENCE_HINTS`` is on (the flows then tell the same); otherwise
    every address is 404, as an unknown one.
    """

    def post(self, request: Request) -> HttpResponse:
        try:
            address = string(body(request), "email").strip()
        except BodyInvalid:
            return error(400)
        if not address:
            return error(400, "email is a required field")
        if not settings.PRIVACY.SHOW_ACCOUNT_EXISTENCE_HINTS:
            # Hanko: tells anyone which addresses have accounts. Without existence hints every
            # address gets the unknown one's answer, and no lookup is made.
            return error(404, "user not found")
        account = accounts.find_by_email(address)
        if account is None:
            return error(404, "user not found")
        normalised = accounts.normalise_email(address)
        email = next(e for e in account.emails.all() if e.address == normalised)
        facts = accounts.facts(account)
        return json(
            {
                "id": str(account.pk),
                "email_id": str(email.pk),
                "verified": email.is_verified,
                "has_webauthn_credential": facts.has_passkey,
            }
        )

    def delete(self, request: Request) -> HttpResponse:
        if not settings.ACCOUNT.ALLOW_DELETION:
            return error(404)
        return delete_own_account(request._request, legacy=True)


class CreateUserView(LegacyView):
    """``POST /users {"email"}``: sign up by address alone.

    Hanko: with ``EMAIL.REQUIRE_VERIFICATION`` stores the address unassigned until a passcode
    verifies it. hankoflow has no unassigned addresses, so then the answer is 403: sign up
    through the registration flow, which verifies the address first. Without verification the
    user is created and signed in, as in Hanko.
    """

    def post(self, request: Request) -> HttpResponse:
        if not settings.ACCOUNT.ALLOW_SIGNUP:
            return error(403)
        try:
            address = string(body(request), "email").strip()
        except BodyInvalid:
            return error(400)
        if not plausible_email(address):
            return error(400, "email is not valid")
        if settings.EMAIL.REQUIRE_VERIFICATION:
            # Hanko: creates the user with an unassigned address that a passcode assigns later.
            # hankoflow has no unassigned addresses; the registration flow verifies first.
            return error(403, "email verification required: use the registration flow")
        env = env_of(request)
        with transaction.atomic():
            try:
                account = accounts.create(
                    uuid.uuid4(),
                    email=address,
                    email_verified=False,
                    username=None,
                    password_hash=None,
                )
            except accounts.EmailAlreadyExists:
                # Hanko: 409 tells anyone the address has an account.
                return error(409)
            email = account.emails.get()
            audit.record(audit.USER_CREATED, env=env, account=account)
            webhooks.user_changed(webhooks.events.USER_CREATE, account, env=env)
            events.user_registered(account, env=env)
            response = json(
                {"id": str(account.pk), "user_id": str(account.pk), "email_id": str(email.pk)}
            )
            sign_in(request, account, response, login=False)
        return response
