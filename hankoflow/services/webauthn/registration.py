"""Registering a passkey or a security key: creation options, verifying the attestation,
storing the credential (flow-api.md §4.6.4; WA-07: at most 1023 bytes, registered once)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from typing import Any

from django.db import IntegrityError, transaction
from webauthn import generate_registration_options, verify_registration_response
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    options_to_json_dict,
    parse_registration_credential_json,
)
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorAttachment,
    AuthenticatorSelectionCriteria,
    CredentialDeviceType,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from hankoflow import clock
from hankoflow.conf import settings
from hankoflow.models import Account, WebauthnCredential
from hankoflow.models.webauthn import MAX_CREDENTIAL_ID_BYTES
from hankoflow.services.accounts import facts, forget_cached
from hankoflow.services.webauthn.challenges import REGISTRATION, Options, consume, store_challenge
from hankoflow.services.webauthn.credentials import descriptors
from hankoflow.services.webauthn.errors import CredentialExists, WebauthnInvalid
from hankoflow.services.webauthn.responses import check_client_data, invalid_on_error, parse


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


def user_names(account: Account) -> tuple[str, str]:
    """The WebAuthn user name and display name of an existing account: its primary email or
    username, and its username or that name."""
    known = facts(account)
    # Hanko: technical_error for a user with neither email nor username; the WebAuthn user name
    # is only a label on the authenticator, so such a user gets their id instead.
    name = known.primary_email or known.username or str(account.pk)
    return name, known.username or name


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
        exclude_credentials=descriptors(exclude_credential_ids),
    )
    row = store_challenge(
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
    challenge = consume(challenge_id, flow_id=flow_id, ceremony=REGISTRATION)
    with invalid_on_error("attestation"):
        credential: RegistrationCredential = parse(response, parse_registration_credential_json)
        check_client_data(credential.response.client_data_json)
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
    now = clock.now()
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
