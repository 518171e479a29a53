"""Writing checked records in one transaction through the account, WebAuthn and TOTP services."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.db import transaction

from hankoflow import clock
from hankoflow.models import Account, OTPSecret, WebauthnCredential
from hankoflow.services import accounts, totp, webauthn
from hankoflow.services.user_transfer.records import ImportFailed, RowError, UserRecord

# --- importing ----------------------------------------------------------------------------------


def import_users(
    records: list[UserRecord],
    *,
    progress: Callable[[int, int], None] | None = None,
    every: int = 1000,
) -> int:
    """Create every record's account in one transaction; ``ImportFailed`` rolls all back.

    ``records`` come from a ``read_file`` without errors. ``progress(done, total)`` is called
    every ``every`` rows and at the end.
    """
    total = len(records)
    with transaction.atomic():
        for done, record in enumerate(records, start=1):
            try:
                with transaction.atomic():
                    _import_one(record)
            except ImportFailed:
                raise
            except Exception as exc:  # a rival write, the adapter refusing the user, ...
                raise ImportFailed(RowError(record.index, record.line, _describe(exc))) from exc
            if progress is not None and (done % every == 0 or done == total):
                progress(done, total)
    return total


def _describe(exc: Exception) -> str:
    if isinstance(exc, accounts.EmailAlreadyExists):
        return f"email {exc.args[0]!r} already exists"
    if isinstance(exc, accounts.UsernameAlreadyExists):
        return f"username {exc.args[0]!r} already exists"
    if isinstance(exc, webauthn.CredentialExists):
        return f"credential id {exc.args[0]!r} already exists"
    return f"{type(exc).__name__}: {exc}"


def _import_one(record: UserRecord) -> None:
    primary = next((e for e in record.emails if e.is_primary), None)
    account = accounts.create(
        record.user_id or uuid.uuid4(),
        email=primary.address if primary else None,
        email_verified=primary.is_verified if primary else False,
        username=record.username,
        password_hash=record.password_hash,
    )
    for email in record.emails:
        if email is not primary:
            accounts.add_email(account, email.address, verified=email.is_verified)
    for item in record.credentials:
        new = webauthn.NewCredential(
            id=item.id,
            public_key=item.public_key,
            sign_count=item.sign_count,
            aaguid=item.aaguid,
            transports=item.transports,
            attestation_type=item.attestation_type,
            backup_eligible=item.backup_eligible,
            backup_state=item.backup_state,
            mfa_only=item.mfa_only,
        )
        webauthn.save_credential(account, new, name=item.name)
        # Keep the file's history: save_credential stamps a registration happening now.
        now = clock.now()
        WebauthnCredential.objects.filter(pk=item.id).update(
            created_at=item.created_at or now,
            updated_at=item.updated_at or now,
            last_used_at=item.last_used_at,
        )
    if record.otp_secret:
        totp.save_secret(account, record.otp_secret, last_step=None)
        if record.otp_created_at:
            OTPSecret.objects.filter(account=account).update(created_at=record.otp_created_at)
    if record.created_at or record.updated_at:
        now = clock.now()
        Account.objects.filter(pk=account.pk).update(
            created_at=record.created_at or now, updated_at=record.updated_at or now
        )
