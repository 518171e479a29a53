"""One-time exchange tokens (platform.md §1.12): made by the callback, consumed once by the
flow action ``exchange_token``.

The value (32 random bytes, base64url with padding, as Hanko's) goes to the browser in the
``hanko_token`` query parameter; only its SHA-256 digest is stored, and the PKCE verifier the
client must repeat is stored encrypted. A token lives 60 seconds and is deleted when used, or
when a later token is issued after it expired.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction

from hankoflow import clock
from hankoflow.models import Account, ExchangeToken, Identity
from hankoflow.services import crypto

TTL = 60  # seconds (Hanko: 1 minute)
_PURPOSE = "thirdparty"


class TokenInvalid(Exception):
    """Unknown, already used or expired."""


class VerifierMismatch(Exception):
    """The client's PKCE verifier is not the one the sign-in started with."""


@dataclass(frozen=True)
class Exchanged:
    account: Account
    identity: Identity | None
    user_created: bool


def issue(
    account: Account, identity: Identity | None, *, user_created: bool, code_verifier: str
) -> str:
    """Store a token for ``account`` and return its value (shown once).

    Expired tokens are deleted on the way, so the table stays bounded without a cleanup job.
    """
    delete_expired()
    value = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")
    ExchangeToken.objects.create(
        digest=_digest(value),
        account=account,
        identity=identity,
        user_created=user_created,
        code_verifier=crypto.encrypt(code_verifier, _PURPOSE) if code_verifier else "",
        expires_at=clock.now() + timedelta(seconds=TTL),
    )
    return value


def consume(value: str, code_verifier: str | None) -> Exchanged:
    """Use the token once. ``TokenInvalid`` or ``VerifierMismatch`` (the token is kept then)."""
    if not isinstance(value, str) or not value or len(value) > 256:
        raise TokenInvalid
    with transaction.atomic():
        row = (
            ExchangeToken.objects.select_for_update(of=("self",))
            .select_related("account__user", "identity")
            .filter(digest=_digest(value))
            .first()
        )
        if row is None:
            raise TokenInvalid
        if row.code_verifier:
            stored = crypto.decrypt(row.code_verifier, _PURPOSE).decode()
            if not secrets.compare_digest(stored.encode(), (code_verifier or "").encode()):
                raise VerifierMismatch
        elif code_verifier:
            # A client that started with PKCE never gets a token made without it: otherwise
            # someone could hand a victim's pending sign-in a token for their own account
            # (login CSRF). Hanko: ignores the verifier then.
            raise VerifierMismatch
        if row.expires_at <= clock.now():
            raise TokenInvalid
        if not getattr(row.account.user, "is_active", True):
            raise TokenInvalid  # deactivated since the callback: no sign-in (SE-07)
        # The delete decides: of two concurrent exchanges only one removes the row.
        if ExchangeToken.objects.filter(pk=row.pk).delete()[0] != 1:
            raise TokenInvalid
    return Exchanged(account=row.account, identity=row.identity, user_created=row.user_created)


def delete_expired() -> int:
    """Remove tokens past their expiry."""
    return ExchangeToken.objects.filter(expires_at__lte=clock.now()).delete()[0]


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
