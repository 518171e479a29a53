"""The Passkey API's ceremonies (docs/passkey-api.md): passkeys for projects that keep their own
login, as Hanko's passkey server offers them.

Users are the host project's Django users: the API's ``user_id`` is a Django user's primary key.
Registering a passkey gives a user without one a hankoflow ``Account`` (the WebAuthn user
handle is the account id); signing in needs that account. Challenges are the WebAuthn
services' (stored, single use, bound to the user), each kind of ceremony under its own
``flow_id``, so a challenge of one endpoint is never accepted by another (nor by a flow).

A finalize answers a short-lived RS256 JWT signed with the session keys: ``sub`` is the caller's
``user_id``, ``typ`` is ``passkey+jwt`` and its audience ``AUDIENCE``, so it never passes as a
session token (nor one as it). ``redeem_login`` accepts a login token once.

A transaction's challenge is 16 random bytes followed by the SHA-256 of the transaction (its id
and canonical JSON data): the authenticator signs the data's digest. The transaction itself
waits in the shared cache (``RATE_LIMITER.CACHE``) under its challenge id until the ceremony
times out; finalize recomputes the digest, so data changed after initialize is refused.

Hanko: the passkey server keeps its own users, credentials and tenants; we keep one tenant and
reuse hankoflow's accounts and credentials, so a passkey added here also signs in through the
flows.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.db import transaction
from webauthn.helpers import base64url_to_bytes

from hankoflow import clock, signals
from hankoflow.conf import settings
from hankoflow.engine import RequestFacts
from hankoflow.models import Account, WebauthnChallenge, WebauthnCredential
from hankoflow.services import audit, events, webauthn
from hankoflow.services.jwks import purpose

TOKEN_TYPE = "passkey+jwt"  # noqa: S105 (the JOSE "typ" value, not a secret)
AUDIENCE = "hankoflow:passkey-api"
REQUIRED_CLAIMS = ["exp", "iat", "sub", "aud", "jti", "cred", "ceremony"]
MAX_USER_ID = 128  # Hanko's passkey server: user ids are free text
MAX_USERNAME = 128
MAX_TRANSACTION_ID = 128

# The ``ceremony`` claim of a finalize token.
REGISTRATION = "registration"
LOGIN = "login"
MFA_REGISTRATION = "mfa_registration"
MFA_LOGIN = "mfa_login"
TRANSACTION = "transaction"

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "hankoflow:passkey-api")
FLOW_IDS = {
    name: str(uuid.uuid5(_NAMESPACE, name))
    for name in (REGISTRATION, LOGIN, MFA_REGISTRATION, MFA_LOGIN, TRANSACTION)
}
_TX_KEY = "hankoflow:passkey-api:tx:{}"
_USED_KEY = "hankoflow:passkey-api:used:{}"


class PasskeyApiError(Exception):
    """A refused request: ``status`` and ``message`` are the answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _bad(message: str) -> PasskeyApiError:
    return PasskeyApiError(400, message)


USER_NOT_FOUND = "user not found"


@dataclass(frozen=True)
class Transaction:
    id: str
    data: Any


# --- users --------------------------------------------------------------------------------------


def clean_user_id(value: Any, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_USER_ID:
        raise _bad("user_id must be a non-empty string of at most 128 characters")
    return value


def django_user(user_id: str) -> AbstractBaseUser | None:
    """The host's user whose primary key ``user_id`` is; None for no such user or a malformed id."""
    model = get_user_model()
    try:
        pk = model._meta.pk.to_python(user_id)
    except (ValidationError, ValueError, TypeError):
        return None
    return model._default_manager.filter(pk=pk).first()


def account_of(user_id: str, *, create: bool) -> Account:
    """The account of the host's user ``user_id``, made when ``create`` and missing (404 else)."""
    user = django_user(user_id)
    if user is None:
        raise PasskeyApiError(404, USER_NOT_FOUND)
    account = Account.objects.filter(user=user).select_related("user").first()
    if account is None:
        if not create:
            raise PasskeyApiError(404, USER_NOT_FOUND)
        account, _ = Account.objects.get_or_create(user=user)
    return account


def _credential_ids(account: Account, *, mfa_only: bool | None) -> list[str]:
    rows = WebauthnCredential.objects.filter(account=account)
    if mfa_only is not None:
        rows = rows.filter(mfa_only=mfa_only)
    return list(rows.values_list("pk", flat=True))


# --- registration -------------------------------------------------------------------------------


def register_initialize(body: dict[str, Any], *, mfa: bool) -> dict[str, Any]:
    """Creation options for a passkey (a security key when ``mfa``) of ``body["user_id"]``."""
    user_id = clean_user_id(body.get("user_id"))
    username = body.get("username")
    if not isinstance(username, str) or not username.strip() or len(username) > MAX_USERNAME:
        raise _bad("username must be a non-empty string of at most 128 characters")
    display_name = body.get("display_name")
    if display_name is not None and (
        not isinstance(display_name, str) or len(display_name) > MAX_USERNAME
    ):
        raise _bad("display_name must be a string of at most 128 characters")
    with transaction.atomic():
        account = account_of(user_id, create=True)
        options = webauthn.registration_options(
            user_id=str(account.pk),
            user_name=username,
            user_display_name=(display_name or "").strip() or username,
            mfa_only=mfa,
            exclude_credential_ids=_credential_ids(account, mfa_only=None),
            flow_id=FLOW_IDS[MFA_REGISTRATION if mfa else REGISTRATION],
        )
    return options.options


def register_finalize(
    response: Any, *, mfa: bool, env: RequestFacts | None, user_id: str | None = None
) -> str:
    """Verify the attestation, store the credential; a token for its user (``PasskeyApiError``).

    ``user_id``: the host user the ceremony must have been started for (a signed-in user adding
    a passkey); checked before anything is stored.
    """
    ceremony = MFA_REGISTRATION if mfa else REGISTRATION
    failure: str | None = None
    with transaction.atomic():
        try:
            challenge_id = webauthn.find_challenge_id(
                response, flow_id=FLOW_IDS[ceremony], ceremony=webauthn.REGISTRATION
            )
            new = webauthn.verify_registration(challenge_id, response, flow_id=FLOW_IDS[ceremony])
            owner = _challenge_owner(challenge_id)
            if user_id is not None and str(owner.user.pk) != user_id:
                raise webauthn.WebauthnInvalid("a ceremony of another user")
            saved = webauthn.save_credential(owner, new)
        except webauthn.CredentialExists:
            failure = "credential already registered"
        except webauthn.WebauthnInvalid as exc:
            failure = str(exc) or "invalid attestation"
        else:
            kind = audit.SECURITY_KEY_CREATED if saved.mfa_only else audit.PASSKEY_CREATED
            key = "security_key" if saved.mfa_only else "passkey"
            audit.record(kind, env=env, account=owner, details={key: saved.id, "api": "passkey"})
            added = signals.CREDENTIAL_SECURITY_KEY if mfa else signals.CREDENTIAL_PASSKEY
            events.credential_added(owner, added, saved.id, env=env)
            return _issue(owner, credential_id=saved.id, ceremony=ceremony)
    raise _bad(failure)


def _challenge_owner(challenge_id: str) -> Account:
    owner_id = (
        WebauthnChallenge.objects.filter(pk=challenge_id).values_list("user_id", flat=True).first()
    )
    account = Account.objects.filter(pk=owner_id).select_related("user").first()
    if account is None:
        raise webauthn.WebauthnInvalid("the challenge's user is gone")
    return account


# --- login --------------------------------------------------------------------------------------


def login_initialize(body: dict[str, Any], *, mfa: bool) -> dict[str, Any]:
    """Request options: for ``user_id``'s credentials, or any discoverable passkey without one
    (MFA always names its user and allows only security keys)."""
    user_id = clean_user_id(body.get("user_id"), required=mfa)
    account = account_of(user_id, create=False) if user_id is not None else None
    allowed: list[str] = []
    if account is not None:
        allowed = _credential_ids(account, mfa_only=mfa)
        if mfa and not allowed:
            # An empty list would let the user's passkeys answer a second-factor ceremony.
            raise _bad("user has no MFA credential")
    keys = settings.MFA.SECURITY_KEYS
    options = webauthn.authentication_options(
        user_id=str(account.pk) if account is not None else None,
        allow_credential_ids=allowed,
        user_verification=keys.USER_VERIFICATION if mfa else settings.PASSKEY.USER_VERIFICATION,
        mfa=mfa,
        flow_id=FLOW_IDS[MFA_LOGIN if mfa else LOGIN],
    )
    return options.options


def login_finalize(response: Any, *, mfa: bool, env: RequestFacts | None) -> str:
    """Verify the assertion; a token for the credential's user (``PasskeyApiError``)."""
    ceremony = MFA_LOGIN if mfa else LOGIN
    verified = _verify(response, ceremony, env)
    return _issue(
        verified.assertion.account,
        credential_id=verified.assertion.credential.pk,
        ceremony=ceremony,
    )


@dataclass(frozen=True)
class _Verified:
    assertion: webauthn.Assertion
    transaction: Transaction | None


def _verify(response: Any, ceremony: str, env: RequestFacts | None) -> _Verified:
    """Verify an assertion of ``ceremony``, auditing the outcome (``PasskeyApiError``). The
    challenge stays consumed whatever happens: its transaction commits before the refusal."""
    flow_id = FLOW_IDS[ceremony]
    tx = ceremony == TRANSACTION
    success_type = audit.WEBAUTHN_AUTHENTICATION_FINAL_SUCCEEDED if tx else audit.LOGIN_SUCCESS
    failure_type = audit.WEBAUTHN_AUTHENTICATION_FINAL_FAILED if tx else audit.LOGIN_FAILURE
    details: dict[str, Any] = {
        "login_method": audit.METHOD_PASSKEY,
        "api": "passkey",
        "ceremony": ceremony,
    }
    failure = ""
    with transaction.atomic():
        try:
            challenge_id = webauthn.find_challenge_id(
                response, flow_id=flow_id, ceremony=webauthn.AUTHENTICATION
            )
            assertion = webauthn.verify_authentication(
                challenge_id, response, flow_id=flow_id, env=env
            )
            signed = _signed_transaction(challenge_id) if tx else None
        except webauthn.MfaOnlyCredential:
            failure = "a security key is no first factor"
        except webauthn.WebauthnInvalid as exc:
            failure = str(exc) or "invalid assertion"
        if failure:
            audit.record(failure_type, env=env, error=failure, details=details)
        else:
            details["credential_id"] = assertion.credential.pk
            if signed is not None:
                details["transaction_id"] = signed.id
            audit.record(success_type, env=env, account=assertion.account, details=details)
    if failure:
        raise _bad(failure)
    return _Verified(assertion=assertion, transaction=signed)


# --- transactions -------------------------------------------------------------------------------


def transaction_digest(transaction_id: str, data: Any) -> bytes:
    """SHA-256 of the transaction in canonical JSON (sorted keys, no spaces, UTF-8)."""
    canonical = json.dumps(
        {"id": transaction_id, "data": data},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).digest()


def transaction_initialize(body: dict[str, Any]) -> dict[str, Any]:
    """Request options whose challenge binds the transaction, for ``user_id``'s passkeys."""
    user_id = clean_user_id(body.get("user_id"))
    transaction_id = body.get("transaction_id")
    if (
        not isinstance(transaction_id, str)
        or not transaction_id
        or len(transaction_id) > MAX_TRANSACTION_ID
    ):
        raise _bad("transaction_id must be a non-empty string of at most 128 characters")
    if body.get("transaction_data") is None:
        raise _bad("transaction_data is required")
    data = body["transaction_data"]
    account = account_of(user_id, create=False)
    challenge = os.urandom(16) + transaction_digest(transaction_id, data)
    options = webauthn.authentication_options(
        user_id=str(account.pk),
        allow_credential_ids=_credential_ids(account, mfa_only=False),
        user_verification=settings.PASSKEY.USER_VERIFICATION,
        mfa=False,
        flow_id=FLOW_IDS[TRANSACTION],
        challenge=challenge,
    )
    timeout = settings.WEBAUTHN.TIMEOUTS.LOGIN // 1000 + 60
    _cache().set(
        _TX_KEY.format(options.challenge_id), {"id": transaction_id, "data": data}, timeout
    )
    return options.options


def transaction_finalize(response: Any, *, env: RequestFacts | None) -> str:
    """Verify the assertion over the transaction's challenge; a token carrying the transaction."""
    verified = _verify(response, TRANSACTION, env)
    signed = verified.transaction
    assert signed is not None  # noqa: S101 (_verify checked it for a transaction)
    return _issue(
        verified.assertion.account,
        credential_id=verified.assertion.credential.pk,
        ceremony=TRANSACTION,
        extra={"transaction": {"id": signed.id, "data": signed.data}},
    )


def _signed_transaction(challenge_id: str) -> Transaction:
    """The transaction the (consumed) challenge was made for, if its digest is what was signed."""
    key = _TX_KEY.format(challenge_id)
    stored = _cache().get(key)
    _cache().delete(key)
    if not isinstance(stored, dict) or "id" not in stored or "data" not in stored:
        raise webauthn.WebauthnInvalid("transaction unknown or expired")
    challenge = WebauthnChallenge.objects.get(pk=challenge_id).challenge
    signed = base64url_to_bytes(challenge)[16:]
    if not secrets.compare_digest(signed, transaction_digest(stored["id"], stored["data"])):
        raise webauthn.WebauthnInvalid("transaction differs from what was signed")
    return Transaction(id=stored["id"], data=stored["data"])


def _cache() -> Any:
    return caches[settings.RATE_LIMITER.CACHE]


# --- tokens -------------------------------------------------------------------------------------


def _issue(
    account: Account, *, credential_id: str, ceremony: str, extra: dict[str, Any] | None = None
) -> str:
    now = int(clock.timestamp())
    claims: dict[str, Any] = {
        "sub": str(account.user.pk),
        "aud": [AUDIENCE],
        "iat": now,
        "exp": now + int(settings.PASSKEY_API.TOKEN_LIFESPAN),
        "jti": secrets.token_urlsafe(16),
        "cred": credential_id,
        "ceremony": ceremony,
    }
    if extra:
        claims.update(extra)
    if settings.PASSKEY_API.TENANT_ID:
        claims["tenant_id"] = str(settings.PASSKEY_API.TENANT_ID)
    return purpose.sign(claims, typ=TOKEN_TYPE)


class TokenInvalid(Exception):
    """Not ours, tampered, expired, of another ceremony or already used."""


def verify_token(token: Any) -> dict[str, Any]:
    """The claims of a Passkey API token (any ceremony); ``TokenInvalid`` otherwise."""
    claims = purpose.verify(token, typ=TOKEN_TYPE, audience=AUDIENCE, required=REQUIRED_CLAIMS)
    if claims is None:
        raise TokenInvalid
    return claims


def redeem_login(token: Any) -> AbstractBaseUser:
    """The host's user a passkey login token names, accepted once (``TokenInvalid``).

    Once: the token's ``jti`` is remembered in the shared cache until it expires; use a shared
    cache (Redis) when more than one process serves the login.
    """
    claims = verify_token(token)
    if claims.get("ceremony") != LOGIN:
        raise TokenInvalid
    lifespan = max(int(claims["exp"]) - int(clock.timestamp()), 0) + 5
    if not _cache().add(_USED_KEY.format(claims["jti"]), 1, timeout=lifespan):
        raise TokenInvalid
    user = django_user(str(claims["sub"]))
    if user is None:
        raise TokenInvalid
    # The credential must still be the user's (removed passkeys sign nobody in).
    if not WebauthnCredential.objects.filter(pk=claims["cred"], account__user=user).exists():
        raise TokenInvalid
    return user
