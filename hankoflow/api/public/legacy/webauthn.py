"""``/webauthn/...`` (platform.md §3.3.5): passkey registration and login ceremonies and the
session user's credentials, served by the flows' WebAuthn service (challenges stored and used
once, sign counters, backup flags) with the profile's rules for renaming and deleting.

Each ceremony's challenges carry a fixed flow id of their own, so a challenge made here is
answered only here, and no flow's or Passkey API's challenge is accepted here. Mounted, as in
Hanko v2.7.0, while ``PASSKEY.ENABLED``.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.http import HttpResponse
from rest_framework.request import Request

from hankoflow import emails, features, signals
from hankoflow.actions.profile.webauthn import passkey_deletable, security_key_deletable
from hankoflow.api.public.legacy.base import (
    LegacyView,
    env_of,
    error,
    json,
    no_store,
    parse_uuid,
    reauthentication_refusal,
    session_of,
    sign_in,
    string,
    unauthorized,
)
from hankoflow.conf import settings
from hankoflow.models import WebauthnChallenge
from hankoflow.services import accounts, audit, events, notifications, webauthn

_NAMESPACE = uuid.UUID("0d6a4f8e-6a55-4c43-9d51-2f7f1b3c9a10")
REGISTRATION_FLOW_ID = str(uuid.uuid5(_NAMESPACE, "legacy-api webauthn registration"))
LOGIN_FLOW_ID = str(uuid.uuid5(_NAMESPACE, "legacy-api webauthn login"))


class WebauthnView(LegacyView):
    def available(self) -> bool:
        return bool(settings.PASSKEY.ENABLED)


def _document(request: Request) -> Any:
    data = request.data
    return data if isinstance(data, dict) else None


class RegistrationInitializeView(WebauthnView):
    def post(self, request: Request) -> HttpResponse:
        """Creation options for a passkey of the session user (resident key required)."""
        info = session_of(request)
        if info is None:
            return unauthorized(request._request)
        account = info.account
        env = env_of(request, info)
        if len(webauthn.credentials_of(account, mfa_only=False)) >= settings.PASSKEY.LIMIT:
            # Hanko v2: no limit; the flows' PASSKEY.LIMIT holds here too.
            audit.record(audit.WEBAUTHN_REGISTRATION_INIT_FAILED, env=env, account=account)
            return error(409, "passkey limit reached")
        name, display_name = webauthn.user_names(account)
        options = webauthn.registration_options(
            user_id=str(account.pk),
            user_name=name,
            user_display_name=display_name,
            mfa_only=False,
            exclude_credential_ids=[],  # as Hanko v2: none
            flow_id=REGISTRATION_FLOW_ID,
        )
        audit.record(audit.WEBAUTHN_REGISTRATION_INIT_SUCCEEDED, env=env, account=account)
        return json(options.options)


class RegistrationFinalizeView(WebauthnView):
    def post(self, request: Request) -> HttpResponse:
        """The attestation: store the passkey; 200 ``{"credential_id", "user_id"}``."""
        info = session_of(request)
        if info is None:
            return unauthorized(request._request)
        account = info.account
        env = env_of(request, info)
        response = _document(request)

        def failed(message: str) -> HttpResponse:
            audit.record(
                audit.WEBAUTHN_REGISTRATION_FINAL_FAILED, env=env, account=account, error=message
            )
            return error(400, message)

        with transaction.atomic():
            try:
                challenge_id = webauthn.find_challenge_id(
                    response, flow_id=REGISTRATION_FLOW_ID, ceremony=webauthn.REGISTRATION
                )
                owner = (
                    WebauthnChallenge.objects.filter(pk=challenge_id)
                    .values_list("user_id", flat=True)
                    .first()
                )
                if owner != account.pk:
                    return failed("challenge of another user")
                new = webauthn.verify_registration(
                    challenge_id, response, flow_id=REGISTRATION_FLOW_ID
                )
                saved = webauthn.save_credential(account, new)
            except webauthn.WebauthnInvalid:
                # Hanko: 422 when user verification was required and missing; the service
                # refuses it like any other invalid attestation.
                return failed("invalid attestation")
            audit.record(
                audit.WEBAUTHN_REGISTRATION_FINAL_SUCCEEDED,
                env=env,
                account=account,
                details={"passkey": saved.id},
            )
            events.credential_added(account, signals.CREDENTIAL_PASSKEY, saved.id, env=env)
            notifications.notify(account, emails.PASSKEY_CREATE, env=env)
        return json({"credential_id": saved.id, "user_id": str(account.pk)})


class LoginInitializeView(WebauthnView):
    def post(self, request: Request) -> HttpResponse:
        """Request options: the user's passkeys when ``user_id`` is given, else discoverable."""
        env = env_of(request)
        data = _document(request) if request.data else {}
        if data is None:
            return error(400)
        user_id = string(data, "user_id")
        allowed: list[str] = []
        account = None
        if user_id:
            if parse_uuid(user_id) is None:
                return error(400, "user_id must be a valid uuid")
            account = accounts.get(user_id)
            if account is None:
                audit.record(audit.WEBAUTHN_AUTHENTICATION_INIT_FAILED, env=env)
                return error(400, "user not found")
            allowed = [c.id for c in webauthn.credentials_of(account, mfa_only=False)]
        options = webauthn.authentication_options(
            user_id=str(account.pk) if account is not None and allowed else None,
            allow_credential_ids=allowed,
            user_verification=settings.PASSKEY.USER_VERIFICATION,
            mfa=False,
            flow_id=LOGIN_FLOW_ID,
        )
        public_key = options.options["publicKey"]
        for descriptor in public_key.get("allowCredentials", []):
            descriptor.pop("transports", None)  # as Hanko v2
        audit.record(audit.WEBAUTHN_AUTHENTICATION_INIT_SUCCEEDED, env=env, account=account)
        return json(options.options)


class LoginFinalizeView(WebauthnView):
    def post(self, request: Request) -> HttpResponse:
        """The assertion: a session; 200 ``{"credential_id", "user_id"}``."""
        env = env_of(request)
        response = _document(request)
        with transaction.atomic():
            try:
                challenge_id = webauthn.find_challenge_id(
                    response, flow_id=LOGIN_FLOW_ID, ceremony=webauthn.AUTHENTICATION
                )
                assertion = webauthn.verify_authentication(
                    challenge_id, response, flow_id=LOGIN_FLOW_ID, env=env
                )
            except webauthn.WebauthnInvalid as refusal:
                regression = webauthn.SIGN_COUNT_REGRESSION in str(refusal)
                audit.record(
                    audit.WEBAUTHN_AUTHENTICATION_FINAL_FAILED, env=env, error=str(refusal)[:200]
                )
                return error(400 if regression else 401)
            account = assertion.account
            if not assertion.user_verified and _second_factor_enrolled(account):
                # Hanko: v2 signs in with any passkey. One that did not verify the user is a
                # single factor and cannot stand in for an enrolled second (WA-04, FL-08).
                audit.record(
                    audit.WEBAUTHN_AUTHENTICATION_FINAL_FAILED,
                    env=env,
                    account=account,
                    error="user not verified and a second factor is enrolled",
                )
                return error(401)
            body = {"credential_id": assertion.credential.id, "user_id": str(account.pk)}
            answer = json(body)
            sign_in(request, account, answer)
            audit.record(audit.WEBAUTHN_AUTHENTICATION_FINAL_SUCCEEDED, env=env, account=account)
        return answer


def _second_factor_enrolled(account: accounts.Account) -> bool:
    if not features.mfa():
        return False
    facts = accounts.facts(account)
    return (facts.has_otp_secret and features.totp()) or (
        facts.has_security_key and features.security_keys()
    )


class CredentialListView(WebauthnView):
    def get(self, request: Request) -> HttpResponse:
        """The session user's passkeys and security keys (the profile's credential objects)."""
        info = session_of(request)
        if info is None:
            return unauthorized(request._request)
        return json([webauthn.credential_dto(c) for c in webauthn.credentials_of(info.account)])


class CredentialView(WebauthnView):
    def patch(self, request: Request, credential_id: str) -> HttpResponse:
        """``{"name"}``: rename one of the session user's credentials; 200, empty body."""
        info = session_of(request)
        if info is None:
            return unauthorized(request._request)
        credential = webauthn.find_credential(info.account, credential_id)
        if credential is None:
            return error(404)
        data = _document(request)
        try:
            webauthn.rename_credential(credential, string(data or {}, "name"))
        except webauthn.InvalidCredentialName:
            return error(400, "name is not valid")
        audit.record(
            audit.WEBAUTHN_CREDENTIAL_UPDATED,
            env=env_of(request, info),
            account=info.account,
            details={"credential_id": credential.id},
        )
        return no_store(HttpResponse(status=200))

    def delete(self, request: Request, credential_id: str) -> HttpResponse:
        """Delete one of the session user's credentials; 204. The profile's rules: not the last
        way in, and only within the re-authentication window."""
        info = session_of(request)
        if info is None:
            return unauthorized(request._request)
        if webauthn.find_credential(info.account, credential_id) is None:
            return error(404)
        if (refused := reauthentication_refusal(info)) is not None:
            return refused
        env = env_of(request, info)
        with transaction.atomic():
            account = accounts.lock(info.account)
            credential = webauthn.find_credential(account, credential_id)
            if credential is None:
                return error(404)
            deletable = security_key_deletable if credential.mfa_only else passkey_deletable
            if not deletable(account):
                # Hanko: deletes any credential, the last way in included.
                return error(409, "the last way to sign in can't be deleted")
            if webauthn.delete_credential(credential, request=request._request):
                audit.record(
                    audit.WEBAUTHN_CREDENTIAL_DELETED,
                    env=env,
                    account=account,
                    details={"credential_id": credential.id},
                )
        return no_store(HttpResponse(status=204))
