"""Signing in with a passkey or a security key: request options and verifying the assertion
(flow-api.md §4.6.3): the credential must be allowed and the user's (WA-03), a security key is
no first factor (WA-04), a sign-count regression is refused and audited (WA-05), BE never
changes (WA-06)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, NoReturn

from webauthn import generate_authentication_options, verify_authentication_response
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    options_to_json_dict,
    parse_authentication_credential_json,
)
from webauthn.helpers.structs import (
    AuthenticationCredential,
    CredentialDeviceType,
    UserVerificationRequirement,
)

from hankoflow import clock
from hankoflow.conf import settings
from hankoflow.engine import RequestFacts
from hankoflow.models import Account, WebauthnCredential
from hankoflow.models.webauthn import MAX_CREDENTIAL_ID_BYTES
from hankoflow.services import audit
from hankoflow.services.webauthn.challenges import AUTHENTICATION, Options, consume, store_challenge
from hankoflow.services.webauthn.credentials import descriptors
from hankoflow.services.webauthn.errors import MfaOnlyCredential, WebauthnInvalid
from hankoflow.services.webauthn.responses import check_client_data, invalid_on_error, parse

logger = logging.getLogger("hankoflow.webauthn")

SIGN_COUNT_REGRESSION = "sign count regression"


@dataclass(frozen=True)
class Assertion:
    """A verified assertion: the (updated) credential and the account that owns it."""

    credential: WebauthnCredential
    account: Account
    user_verified: bool  # the UV flag: without it a passkey is possession only


def authentication_options(
    *,
    user_id: str | None,
    allow_credential_ids: list[str] | None,
    user_verification: str,
    mfa: bool,
    flow_id: str | None,
    challenge: bytes | None = None,
) -> Options:
    """Request options (flow-api.md §4.6.3): discoverable when no credentials are allowed.

    ``user_id`` is the account that must own the credential (None: whoever the ``userHandle``
    names); ``mfa`` marks a second-factor ceremony, the only one a security key may answer.
    ``challenge`` replaces the random one (a transaction signature binds its data into it; it
    must still carry enough randomness of its own).
    """
    allowed = list(allow_credential_ids or [])
    generated = generate_authentication_options(
        rp_id=settings.WEBAUTHN.RELYING_PARTY.ID,
        timeout=settings.WEBAUTHN.TIMEOUTS.LOGIN,
        allow_credentials=descriptors(allowed),
        user_verification=UserVerificationRequirement(user_verification),
        challenge=challenge,
    )
    row = store_challenge(
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
    challenge = consume(challenge_id, flow_id=flow_id, ceremony=AUTHENTICATION)
    with invalid_on_error("assertion"):
        credential: AuthenticationCredential = parse(response, parse_authentication_credential_json)
        check_client_data(credential.response.client_data_json)
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

    with invalid_on_error("assertion"):
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

    now = clock.now()
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
    return Assertion(credential=stored, account=owner, user_verified=verified.user_verified)


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
