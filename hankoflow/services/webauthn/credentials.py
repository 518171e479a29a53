"""Stored credentials: listing an account's, the credential object of the profile data, and
the descriptors that name them in ceremony options."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers.structs import AuthenticatorTransport, PublicKeyCredentialDescriptor

from hankoflow import signals
from hankoflow.models import Account, WebauthnCredential
from hankoflow.services import events
from hankoflow.services.accounts import forget_cached, rfc3339

NIL_AAGUID = "00000000-0000-0000-0000-000000000000"


def credentials_of(account: Account, *, mfa_only: bool | None = None) -> list[WebauthnCredential]:
    """The account's credentials, oldest first; only passkeys/security keys when filtered.

    Uses what ``accounts.get`` prefetched when it is there (one query less per use).
    """
    rows = sorted(account.webauthn_credentials.all(), key=lambda c: (c.created_at, c.id))
    return [c for c in rows if mfa_only is None or c.mfa_only == mfa_only]


def delete_credential(
    credential: WebauthnCredential, *, request: HttpRequest | None = None
) -> bool:
    """Delete one passkey or security key and send ``credential_removed``; False when it was
    already gone (announced only by whoever deleted it)."""
    with transaction.atomic():
        deleted, _ = WebauthnCredential.objects.filter(pk=credential.pk).delete()
        if deleted:
            kind = (
                signals.CREDENTIAL_SECURITY_KEY
                if credential.mfa_only
                else signals.CREDENTIAL_PASSKEY
            )
            events.credential_removed(credential.account, kind, credential.id, request=request)
    forget_cached(credential.account)
    return bool(deleted)


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


def descriptors(credential_ids: Iterable[str]) -> list[PublicKeyCredentialDescriptor]:
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
