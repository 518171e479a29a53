"""WebAuthn ceremonies: passkeys and security keys (flow-api.md §4.0.2.3, §4.0.3, §4.0.5, §4.0.6).

py_webauthn checks each ceremony (client data type, challenge, origin, RP ID hash, user
presence/verification, signature, attestation statement, backup flags). This module adds what
the library leaves to the relying party (security-checks.md §1.3):

* challenges are stored server-side, bound to their flow, ceremony and user, expire with the
  ceremony timeout and are consumed by the first verification attempt, successful or not
  (WA-01);
* the asserted credential must be an allowed one and belong to the user being signed in; a
  discoverable login needs a ``userHandle`` naming the credential's owner (WA-03);
* a security key (``mfa_only``) is refused as a first factor (WA-04);
* a sign-count regression is refused and audited, the new count stored by compare-and-set
  (WA-05); BE must not change once stored, BS without BE is refused (WA-06);
* a credential id is at most 1023 bytes and registered once, for any account (WA-07);
* anything malformed raises ``WebauthnInvalid``, never another exception (WA-08);
* a ``crossOrigin`` or ``topOrigin`` client (an iframe) is refused (WA-02).

Expected origins and RP ID come from ``WEBAUTHN.RELYING_PARTY`` only, never from the request.
A challenge is consumed inside the caller's transaction: the caller (a flow step) must catch
``WebauthnInvalid`` and commit, or the consumption is rolled back with it.

Hanko: deletes a WebAuthn session only after a successful verification; we consume it on the
first attempt. Hanko offers go-webauthn's ten algorithms; we offer py_webauthn's default
(EdDSA, ES256, RS256), the allow-list of WA-07.
"""

from __future__ import annotations

import binascii
import json
import logging
import struct
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

from django.db import IntegrityError, transaction
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    options_to_json_dict,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticationCredential,
    AuthenticatorAttachment,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from hankoflow.conf import settings
from hankoflow.engine import RequestFacts
from hankoflow.models import Account, WebauthnChallenge, WebauthnCredential
from hankoflow.models.webauthn import MAX_CREDENTIAL_ID_BYTES
from hankoflow.services import audit
from hankoflow.services.accounts import forget_cached, rfc3339

logger = logging.getLogger("hankoflow.webauthn")

REGISTRATION = WebauthnChallenge.Ceremony.REGISTRATION
AUTHENTICATION = WebauthnChallenge.Ceremony.AUTHENTICATION
NIL_AAGUID = "00000000-0000-0000-0000-000000000000"
SIGN_COUNT_REGRESSION = "sign count regression"

# What parsing and verifying untrusted client JSON may raise (py_webauthn wraps most errors in
# WebAuthnException, but not raw base64 or type errors): all of it means "invalid response".
_INPUT_ERRORS = (
    WebAuthnException,
    ValueError,  # includes binascii.Error, UnicodeError, json.JSONDecodeError, cbor2 errors
    binascii.Error,
    KeyError,
    TypeError,
    IndexError,
    AttributeError,
    OverflowError,
    struct.error,
    RecursionError,
)


class WebauthnInvalid(Exception):
    """The response (or its challenge) does not verify; the flow answers ``passkey_invalid``."""


class MfaOnlyCredential(WebauthnInvalid):
    """A security key was used as a first factor (``webauthn_credential_invalid_mfa_only``)."""


class CredentialExists(WebauthnInvalid):
    """The credential id is already registered (for this or another account)."""


@dataclass(frozen=True)
class Options:
    """A ceremony's challenge id (for the flow stash) and the ``{"publicKey": ...}`` payload."""

    challenge_id: str
    options: dict[str, Any]


@dataclass(frozen=True)
class NewCredential:
    """A verified, not yet stored credential (registration keeps it in the stash until success)."""

    id: str
    public_key: str
    sign_count: int
    aaguid: str | None
    transports: list[str]
    attestation_type: str
    backup_eligible: bool
    backup_state: bool
    mfa_only: bool

    def to_stash(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_stash(cls, data: dict[str, Any]) -> NewCredential:
        return cls(
            id=str(data["id"]),
            public_key=str(data["public_key"]),
            sign_count=int(data["sign_count"]),
            aaguid=data.get("aaguid"),
            transports=[str(t) for t in data.get("transports") or []],
            attestation_type=str(data["attestation_type"]),
            backup_eligible=bool(data["backup_eligible"]),
            backup_state=bool(data["backup_state"]),
            mfa_only=bool(data["mfa_only"]),
        )


@dataclass(frozen=True)
class Assertion:
    """A verified assertion: the (updated) credential and the account that owns it."""

    credential: WebauthnCredential
    account: Account


# --- registration -------------------------------------------------------------------------------


def registration_options(
    *,
    user_id: str,
    user_name: str,
    user_display_name: str,
    mfa_only: bool,
    exclude_credential_ids: list[str],
    flow_id: str | None,
) -> Options:
    """Creation options for a passkey, or a security key when ``mfa_only`` (flow-api.md §4.6.4).

    ``user_id`` is the account id (the WebAuthn user handle is its 16 bytes); ``user_name`` the
    email or username, ``user_display_name`` the username or email.
    """
    if mfa_only:
        keys = settings.MFA.SECURITY_KEYS
        attachment = keys.AUTHENTICATOR_ATTACHMENT
        user_verification = keys.USER_VERIFICATION
        selection = AuthenticatorSelectionCriteria(
            authenticator_attachment=(
                None if attachment == "no_preference" else AuthenticatorAttachment(attachment)
            ),
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            require_resident_key=False,
            user_verification=UserVerificationRequirement(user_verification),
        )
    else:
        user_verification = settings.PASSKEY.USER_VERIFICATION
        selection = AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            require_resident_key=True,
            user_verification=UserVerificationRequirement(user_verification),
        )
    rp = settings.WEBAUTHN.RELYING_PARTY
    generated = generate_registration_options(
        rp_id=rp.ID,
        rp_name=rp.DISPLAY_NAME,
        user_id=uuid.UUID(str(user_id)).bytes,
        user_name=user_name,
        user_display_name=user_display_name,
        timeout=settings.WEBAUTHN.TIMEOUTS.REGISTRATION,
        # Hanko: security keys also use PASSKEY.ATTESTATION_PREFERENCE (flow-api.md §4.6.4).
        attestation=AttestationConveyancePreference(settings.PASSKEY.ATTESTATION_PREFERENCE),
        authenticator_selection=selection,
        exclude_credentials=_descriptors(exclude_credential_ids),
    )
    row = _store_challenge(
        ceremony=REGISTRATION,
        challenge=generated.challenge,
        timeout_ms=settings.WEBAUTHN.TIMEOUTS.REGISTRATION,
        flow_id=flow_id,
        user_id=user_id,
        user_verification=user_verification,
        mfa_only=mfa_only,
    )
    public_key = options_to_json_dict(generated)
    if not public_key.get("excludeCredentials"):
        public_key.pop("excludeCredentials", None)
    return Options(challenge_id=str(row.id), options={"publicKey": public_key})


def verify_registration(
    challenge_id: str, response: dict[str, Any] | str, *, flow_id: str | None
) -> NewCredential:
    """Verify an attestation (``public_key`` input) against its challenge, consuming it.

    Raises ``CredentialExists`` for an id that is already registered, ``WebauthnInvalid`` for
    anything else that does not verify.
    """
    challenge = _consume(challenge_id, flow_id=flow_id, ceremony=REGISTRATION)
    with _invalid_on_error("attestation"):
        credential: RegistrationCredential = _parse(response, parse_registration_credential_json)
        _check_client_data(credential.response.client_data_json)
        rp = settings.WEBAUTHN.RELYING_PARTY
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(challenge.challenge),
            expected_rp_id=rp.ID,
            expected_origin=list(rp.ORIGINS),
            require_user_verification=challenge.user_verification == "required",
        )
    credential_id = verified.credential_id
    if credential.raw_id != credential_id:
        raise WebauthnInvalid("rawId differs from the attested credential id")
    if len(credential_id) > MAX_CREDENTIAL_ID_BYTES:
        raise WebauthnInvalid("credential id longer than 1023 bytes")
    encoded_id = bytes_to_base64url(credential_id)
    if WebauthnCredential.objects.filter(pk=encoded_id).exists():
        raise CredentialExists(encoded_id)
    transports = [t.value for t in credential.response.transports or []]
    return NewCredential(
        id=encoded_id,
        public_key=bytes_to_base64url(verified.credential_public_key),
        sign_count=verified.sign_count,
        aaguid=verified.aaguid or None,
        transports=transports,
        attestation_type=str(getattr(verified.fmt, "value", verified.fmt)),
        backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
        backup_state=verified.credential_backed_up,
        mfa_only=challenge.mfa_only,
    )


def save_credential(account: Account, new: NewCredential, *, name: str = "") -> WebauthnCredential:
    """Store a verified credential for ``account``; ``CredentialExists`` if its id is taken."""
    if WebauthnCredential.objects.filter(pk=new.id).exists():
        raise CredentialExists(new.id)
    now = timezone.now()
    try:
        with transaction.atomic():
            credential = WebauthnCredential.objects.create(
                id=new.id,
                account=account,
                public_key=new.public_key,
                sign_count=new.sign_count,
                transports=list(new.transports),
                aaguid=new.aaguid,
                attestation_type=new.attestation_type,
                backup_eligible=new.backup_eligible,
                backup_state=new.backup_state,
                name=name,
                mfa_only=new.mfa_only,
                created_at=now,
                last_used_at=now,  # as Hanko: "set to creation time on registration"
            )
    except IntegrityError:
        if WebauthnCredential.objects.filter(pk=new.id).exists():
            raise CredentialExists(new.id) from None
        raise
    forget_cached(account)
    return credential


# --- authentication -----------------------------------------------------------------------------


def authentication_options(
    *,
    user_id: str | None,
    allow_credential_ids: list[str] | None,
    user_verification: str,
    mfa: bool,
    flow_id: str | None,
) -> Options:
    """Request options (flow-api.md §4.6.3): discoverable when no credentials are allowed.

    ``user_id`` is the account that must own the credential (None: whoever the ``userHandle``
    names); ``mfa`` marks a second-factor ceremony, the only one a security key may answer.
    """
    allowed = list(allow_credential_ids or [])
    generated = generate_authentication_options(
        rp_id=settings.WEBAUTHN.RELYING_PARTY.ID,
        timeout=settings.WEBAUTHN.TIMEOUTS.LOGIN,
        allow_credentials=_descriptors(allowed),
        user_verification=UserVerificationRequirement(user_verification),
    )
    row = _store_challenge(
        ceremony=AUTHENTICATION,
        challenge=generated.challenge,
        timeout_ms=settings.WEBAUTHN.TIMEOUTS.LOGIN,
        flow_id=flow_id,
        user_id=user_id,
        user_verification=user_verification,
        allowed_credential_ids=allowed,
        mfa=mfa,
    )
    public_key = options_to_json_dict(generated)
    if not public_key.get("allowCredentials"):
        public_key.pop("allowCredentials", None)
    return Options(challenge_id=str(row.id), options={"publicKey": public_key})


def verify_authentication(
    challenge_id: str,
    response: dict[str, Any] | str,
    *,
    flow_id: str | None,
    env: RequestFacts | None = None,
) -> Assertion:
    """Verify an assertion (``assertion_response`` input) against its challenge, consuming it.

    On success the credential's sign count, backup state and ``last_used_at`` are updated.
    Raises ``MfaOnlyCredential`` for a security key outside an MFA ceremony and
    ``WebauthnInvalid`` for anything else that does not verify. ``env`` (the step's request
    environment) only feeds the audit entry of a sign-count regression.
    """
    challenge = _consume(challenge_id, flow_id=flow_id, ceremony=AUTHENTICATION)
    with _invalid_on_error("assertion"):
        credential: AuthenticationCredential = _parse(
            response, parse_authentication_credential_json
        )
        _check_client_data(credential.response.client_data_json)
    raw_id = credential.raw_id
    if not raw_id or len(raw_id) > MAX_CREDENTIAL_ID_BYTES:
        raise WebauthnInvalid("credential id missing or too long")
    credential_id = bytes_to_base64url(raw_id)
    allowed = challenge.allowed_credential_ids or []
    if allowed and credential_id not in allowed:
        raise WebauthnInvalid("credential not among the allowed credentials")
    stored = (
        WebauthnCredential.objects.select_related("account__user").filter(pk=credential_id).first()
    )
    if stored is None:
        raise WebauthnInvalid("unknown credential")
    owner = stored.account
    user_handle = credential.response.user_handle
    if challenge.user_id is None and not user_handle:
        raise WebauthnInvalid("discoverable login without a userHandle")
    if user_handle and user_handle != owner.id.bytes:
        raise WebauthnInvalid("userHandle does not name the credential's owner")
    if challenge.user_id is not None and challenge.user_id != owner.id:
        raise WebauthnInvalid("credential of another user")

    with _invalid_on_error("assertion"):
        rp = settings.WEBAUTHN.RELYING_PARTY
        # Sign counts are checked below, after the signature: only a genuine assertion counts
        # as a possible clone. A stored count of 0 makes the library skip its own check.
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(challenge.challenge),
            expected_rp_id=rp.ID,
            expected_origin=list(rp.ORIGINS),
            credential_public_key=base64url_to_bytes(stored.public_key),
            credential_current_sign_count=0,
            require_user_verification=challenge.user_verification == "required",
        )
    backup_eligible = verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE
    if backup_eligible != stored.backup_eligible:
        # Policy (WA-06): BE is fixed when a credential is created; a change means another
        # authenticator or a tampered response.
        raise WebauthnInvalid("backup eligibility differs from the stored value")
    new_count = verified.new_sign_count
    if _regressed(stored.sign_count, new_count):
        _refuse_regression(stored, new_count, env)
    if stored.mfa_only and not challenge.mfa:
        raise MfaOnlyCredential(credential_id)

    now = timezone.now()
    rows = WebauthnCredential.objects.filter(pk=stored.pk)
    # Compare-and-set: a concurrent assertion may have stored a higher count meanwhile.
    rows = rows.filter(sign_count__lt=new_count) if new_count > 0 else rows.filter(sign_count=0)
    updated = rows.update(
        sign_count=new_count,
        backup_state=verified.credential_backed_up,
        last_used_at=now,
        updated_at=now,
    )
    if updated != 1:
        _refuse_regression(stored, new_count, env)
    stored.sign_count = new_count
    stored.backup_state = verified.credential_backed_up
    stored.last_used_at = stored.updated_at = now
    return Assertion(credential=stored, account=owner)


# --- credentials --------------------------------------------------------------------------------


def credentials_of(account: Account, *, mfa_only: bool | None = None) -> list[WebauthnCredential]:
    """The account's credentials, oldest first; only passkeys/security keys when filtered.

    Uses what ``accounts.get`` prefetched when it is there (one query less per use).
    """
    rows = sorted(account.webauthn_credentials.all(), key=lambda c: (c.created_at, c.id))
    return [c for c in rows if mfa_only is None or c.mfa_only == mfa_only]


def credential_dto(credential: WebauthnCredential) -> dict[str, Any]:
    """The credential object of flow-api.md §4.6.1 (``name``/``last_used_at`` when set)."""
    data: dict[str, Any] = {"id": credential.id}
    if credential.name:
        data["name"] = credential.name
    data["public_key"] = credential.public_key
    data["attestation_type"] = credential.attestation_type
    data["aaguid"] = str(credential.aaguid) if credential.aaguid else NIL_AAGUID
    if credential.last_used_at:
        data["last_used_at"] = rfc3339(credential.last_used_at)
    data["created_at"] = rfc3339(credential.created_at)
    data["transports"] = list(credential.transports or [])
    data["backup_eligible"] = credential.backup_eligible
    data["backup_state"] = credential.backup_state
    data["mfa_only"] = credential.mfa_only
    return data


def delete_expired_challenges(*, now: datetime | None = None) -> int:
    """Delete challenges whose ceremony has timed out (used or not); returns how many."""
    deleted, _ = WebauthnChallenge.objects.filter(expires_at__lt=now or timezone.now()).delete()
    return deleted


# --- helpers ------------------------------------------------------------------------------------


def _descriptors(credential_ids: Iterable[str]) -> list[PublicKeyCredentialDescriptor]:
    """Descriptors for stored credential ids, with the transports each one reported."""
    ids = list(credential_ids)
    transports = dict(WebauthnCredential.objects.filter(pk__in=ids).values_list("id", "transports"))
    descriptors = []
    for credential_id in ids:
        known = [
            AuthenticatorTransport(t)
            for t in transports.get(credential_id) or []
            if t in AuthenticatorTransport._value2member_map_
        ]
        descriptors.append(
            PublicKeyCredentialDescriptor(
                id=base64url_to_bytes(credential_id), transports=known or None
            )
        )
    return descriptors


def _store_challenge(
    *,
    ceremony: str,
    challenge: bytes,
    timeout_ms: int,
    flow_id: str | None,
    user_id: str | None,
    user_verification: str,
    allowed_credential_ids: list[str] | None = None,
    mfa: bool = False,
    mfa_only: bool = False,
) -> WebauthnChallenge:
    now = timezone.now()
    return WebauthnChallenge.objects.create(
        flow_id=uuid.UUID(str(flow_id)) if flow_id else None,
        ceremony=ceremony,
        challenge=bytes_to_base64url(challenge),
        user_id=_account_uuid(user_id),
        user_verification=user_verification,
        allowed_credential_ids=list(allowed_credential_ids or []),
        mfa=mfa,
        mfa_only=mfa_only,
        created_at=now,
        expires_at=now + timedelta(milliseconds=timeout_ms),
    )


def _account_uuid(user_id: str | None) -> uuid.UUID | None:
    """The account id of a ceremony; None (anyone) also for Hanko's nil UUID."""
    if not user_id:
        return None
    value = uuid.UUID(str(user_id))
    return None if value.int == 0 else value


def _consume(challenge_id: str, *, flow_id: str | None, ceremony: str) -> WebauthnChallenge:
    """Mark the flow's challenge used (first attempt wins, WA-01) and return it if still valid."""
    try:
        pk = uuid.UUID(str(challenge_id))
        flow = uuid.UUID(str(flow_id)) if flow_id else None
    except ValueError:
        raise WebauthnInvalid("malformed challenge or flow id") from None
    now = timezone.now()
    consumed = WebauthnChallenge.objects.filter(pk=pk, used_at__isnull=True, flow_id=flow).update(
        used_at=now
    )
    if consumed != 1:
        raise WebauthnInvalid("unknown, used or foreign challenge")
    row = WebauthnChallenge.objects.get(pk=pk)
    if row.ceremony != ceremony:
        raise WebauthnInvalid(f"not a {ceremony} challenge")
    if row.expires_at <= now:
        raise WebauthnInvalid("challenge expired")
    return row


@contextmanager
def _invalid_on_error(what: str) -> Iterator[None]:
    try:
        yield
    except _INPUT_ERRORS as exc:
        logger.info("invalid WebAuthn %s: %s", what, exc)
        raise WebauthnInvalid(str(exc)) from exc


def _parse(response: Any, parser: Any) -> Any:
    """The library's credential struct of a webauthn-json object (or its JSON string)."""
    if isinstance(response, bytes):
        response = response.decode("utf-8")
    if isinstance(response, str):
        response = json.loads(response)
    if not isinstance(response, dict):
        raise TypeError("the credential is not a JSON object")
    return parser(response)


def _check_client_data(client_data_json: bytes) -> None:
    """Refuse a ceremony run inside a cross-origin iframe (WA-02; the library ignores these)."""
    data = json.loads(client_data_json)
    if not isinstance(data, dict):
        raise TypeError("clientDataJSON is not an object")
    if data.get("crossOrigin") is True or data.get("topOrigin") is not None:
        raise ValueError("cross-origin ceremony")


def _regressed(stored: int, new: int) -> bool:
    """WebAuthn L3 §6.1.1: a counter that did not grow (unless both are 0) may mean a clone."""
    return (stored > 0 or new > 0) and new <= stored


def _refuse_regression(
    stored: WebauthnCredential, new_count: int, env: RequestFacts | None
) -> NoReturn:
    """Audit a possible cloned authenticator and refuse it (WA-05, decision D7)."""
    logger.warning(
        "sign count regression for credential %s of account %s: stored %s, received %s",
        stored.pk,
        stored.account_id,
        stored.sign_count,
        new_count,
    )
    audit.record(
        audit.LOGIN_FAILURE,
        env=env,
        account=stored.account,
        error=SIGN_COUNT_REGRESSION,
        details={"login_method": audit.METHOD_PASSKEY, "credential_id": stored.pk},
    )
    raise WebauthnInvalid(SIGN_COUNT_REGRESSION)
