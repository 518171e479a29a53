"""Stored credentials: listing, finding, renaming and deleting an account's, the credential
object of the profile data (and of the legacy ``GET /users/{id}``), and the descriptors that
name them in ceremony options."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers.structs import AuthenticatorTransport, PublicKeyCredentialDescriptor

from hankoflow import clock, signals
from hankoflow.models import Account, WebauthnCredential
from hankoflow.services import events
from hankoflow.services.accounts import forget_cached, rfc3339

NIL_AAGUID = "00000000-0000-0000-0000-000000000000"

MAX_NAME_LENGTH = 64
"""Longest credential name, in characters (Hanko stores any; its element allows 3 to 32)."""

# Bidirectional embeddings, overrides and isolates: they make a name read differently from
# what it is (Trojan Source). Other format characters (the joiners of emoji sequences) stay.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class InvalidCredentialName(ValueError):
    """A name ``rename_credential`` refuses; ``reason`` is ``missing``, ``too_long`` or
    ``invalid`` (control characters, line breaks, unassigned code points)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def credentials_of(account: Account, *, mfa_only: bool | None = None) -> list[WebauthnCredential]:
    """The account's credentials, oldest first; only passkeys/security keys when filtered.

    Uses what ``accounts.get`` prefetched when it is there (one query less per use).
    """
    rows = sorted(account.webauthn_credentials.all(), key=lambda c: (c.created_at, c.id))
    return [c for c in rows if mfa_only is None or c.mfa_only == mfa_only]


def find_credential(
    account: Account, credential_id: str, *, mfa_only: bool | None = None
) -> WebauthnCredential | None:
    """One of the account's credentials by id (only a passkey/security key when filtered)."""
    for credential in credentials_of(account, mfa_only=mfa_only):
        if credential.id == credential_id:
            return credential
    return None


def clean_name(raw: str) -> str:
    """The name to store for ``raw``: trimmed; ``InvalidCredentialName`` when it is empty, longer
    than ``MAX_NAME_LENGTH`` characters or holds characters a label should not."""
    name = raw.strip()
    if not name:
        raise InvalidCredentialName("missing")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidCredentialName("too_long")
    for char in name:
        category = unicodedata.category(char)
        if category in ("Cc", "Cs", "Co", "Cn", "Zl", "Zp") or char in _BIDI_CONTROLS:
            raise InvalidCredentialName("invalid")
    return name


def rename_credential(credential: WebauthnCredential, raw_name: str) -> WebauthnCredential:
    """Give the credential the name ``raw_name`` (cleaned by ``clean_name``, which may raise)."""
    credential.name = clean_name(raw_name)
    credential.updated_at = clock.now()
    WebauthnCredential.objects.filter(pk=credential.pk).update(
        name=credential.name, updated_at=credential.updated_at
    )
    forget_cached(credential.account)
    return credential


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


def legacy_credential_dto(credential: WebauthnCredential) -> dict[str, Any]:
    """A credential of the deprecated ``GET /users/{id}`` (platform.md §3.3.10): the stored
    record: the profile's credential object with the owner, sign counter and update time.

    Hanko: serialises its database rows, so transports are objects (``ID``, ``Name``, ...) and
    an unset name is ``null``; we send what its OpenAPI document describes (transports as
    strings, no ``name`` when unset), as the profile object does.
    """
    data = credential_dto(credential)
    data["user_id"] = str(credential.account_id)
    data["sign_count"] = credential.sign_count
    data["updated_at"] = rfc3339(credential.updated_at)
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
