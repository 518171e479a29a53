"""Writing accounts out in Hanko's import format."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from hankoflow.models import Account, OTPSecret, WebauthnCredential
from hankoflow.services import accounts, crypto, totp
from hankoflow.services.user_transfer.records import _QUERY_CHUNK, BCRYPT_PREFIXES

# --- exporting ----------------------------------------------------------------------------------


def export_users(
    user_ids: list[uuid.UUID] | None = None, *, include_secrets: bool = False
) -> Iterator[dict[str, Any]]:
    """Every account (or those named) as an import-format entry, oldest first.

    TOTP secrets are decrypted and included only with ``include_secrets``.
    """
    rows = Account.objects.select_related("user", "username", "otp_secret").prefetch_related(
        "emails", "webauthn_credentials"
    )
    if user_ids is not None:
        rows = rows.filter(pk__in=user_ids)
    for account in rows.order_by("created_at", "id").iterator(chunk_size=_QUERY_CHUNK):
        yield _entry(account, include_secrets=include_secrets)


def _entry(account: Account, *, include_secrets: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"user_id": str(account.id)}
    emails = sorted(account.emails.all(), key=lambda e: (not e.is_primary, e.created_at, e.id))
    if emails:
        entry["emails"] = [
            {"address": e.address, "is_primary": e.is_primary, "is_verified": e.is_verified}
            for e in emails
        ]
    username = accounts.username_of(account)
    if username is not None:
        entry["username"] = username.username
    credentials = sorted(account.webauthn_credentials.all(), key=lambda c: (c.created_at, c.id))
    if credentials:
        entry["webauthn_credentials"] = [_credential_entry(c) for c in credentials]
    encoded = account.user.password
    if accounts.has_password(account.user):
        entry["password"] = {"password": hanko_hash(encoded)}
    if include_secrets:
        row = _otp_row(account)
        if row is not None:
            secret = crypto.decrypt(row.secret_encrypted, totp._CRYPTO_PURPOSE).decode("ascii")
            entry["otp_secret"] = {
                "secret": secret,
                "created_at": accounts.rfc3339(row.created_at),
            }
    entry["created_at"] = accounts.rfc3339(account.created_at)
    entry["updated_at"] = accounts.rfc3339(account.updated_at)
    return entry


def has_otp_secret(account_ids: list[uuid.UUID] | None = None) -> int:
    """How many of these accounts (all: None) have a TOTP secret (for the export's warning)."""
    rows = OTPSecret.objects.all()
    if account_ids is not None:
        rows = rows.filter(account_id__in=account_ids)
    return rows.count()


def hanko_hash(encoded: str) -> str:
    """A Django password hash in Hanko's form when Hanko can verify it (bcrypt), else as is."""
    algorithm, _, rest = encoded.partition("$")
    if algorithm == "bcrypt" and rest.startswith(BCRYPT_PREFIXES):
        return rest
    return encoded


def _otp_row(account: Account) -> OTPSecret | None:
    try:
        return account.otp_secret
    except OTPSecret.DoesNotExist:
        return None


def _credential_entry(credential: WebauthnCredential) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": credential.id,
        "public_key": credential.public_key,
        "attestation_type": credential.attestation_type,
        "sign_count": credential.sign_count,
        "transports": list(credential.transports or []),
        "backup_eligible": credential.backup_eligible,
        "backup_state": credential.backup_state,
        "mfa_only": credential.mfa_only,
        "created_at": accounts.rfc3339(credential.created_at),
        "updated_at": accounts.rfc3339(credential.updated_at),
    }
    if credential.name:
        entry["name"] = credential.name
    if credential.aaguid is not None:
        entry["aaguid"] = str(credential.aaguid)
    if credential.last_used_at is not None:
        entry["last_used_at"] = accounts.rfc3339(credential.last_used_at)
    return entry
