"""The keys in use: the signing key (created on first use), the verification key of a token's
``kid``, and the published JWK set."""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import connection, transaction
from django.db.models import QuerySet

from hankoflow import clock
from hankoflow.models.sessions import SigningKey
from hankoflow.services.jwks import cache, keypairs

logger = logging.getLogger("hankoflow.jwks")

# Our kids are UUIDs; a kid is at most 64 printable ASCII characters without spaces (the column's
# length). Anything else is refused before any lookup (issue 8: NUL made PostgreSQL fail).
_KID = re.compile(r"[!-~]{1,64}")


class SigningKeyUnavailable(RuntimeError):
    """The signing key cannot be decrypted (``SECRET_KEY`` changed without a fallback)."""


@dataclass(frozen=True)
class PrivateKey:
    kid: str
    key: rsa.RSAPrivateKey


@dataclass(frozen=True)
class _SigningChoice:
    """Which kid this process signs with, and when and under which key-set generation it read
    that from the database (the rule of ``cache.still_valid``, as for verification keys)."""

    kid: str
    loaded_at: float  # time.monotonic()
    generation: str | None


# Read and written under ``cache.lock``. Its private key lives in ``cache.private_keys``, so
# ``clear_cache`` (rotate, retire, tests) also drops the choice.
_signing: _SigningChoice | None = None


def create_key(*, now: datetime | None = None) -> SigningKey:
    """Generate and store a new key pair; it becomes the signing key."""
    private = keypairs.generate_private_key()
    kid = str(uuid.uuid4())
    row = SigningKey.objects.create(
        kid=kid,
        private_key_encrypted=keypairs.encrypt_private_key(private),
        public_jwk=keypairs.public_jwk(kid, private.public_key()),
        created_at=now or clock.now(),
    )
    global _signing
    with cache.lock:
        cache.private_keys[kid] = private
        _signing = None  # the new key signs from now on
    return row


def unretired() -> QuerySet[SigningKey]:
    """The unretired key rows, newest (the signing key) first."""
    return SigningKey.objects.filter(retired_at__isnull=True).order_by("-created_at", "-id")


def newest() -> SigningKey | None:
    """The newest unretired key row: the one that signs."""
    return unretired().first()


def lock_table() -> None:
    """Serialise changes to the key set (call inside a transaction)."""
    # Serialises "create the first key" between processes. SQLite transactions are already
    # serialised (the demo opens them IMMEDIATE); elsewhere a rare duplicate key is harmless:
    # both are published and everybody signs with the newest.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {SigningKey._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")


def signing_key_row() -> SigningKey:
    """The newest unretired key row, created on first use (race-safe)."""
    return _signing_key_row()[0]


def _signing_key_row() -> tuple[SigningKey, bool]:
    """``signing_key_row`` and whether this call created the row."""
    row = newest()
    if row is not None:
        return row, False
    with transaction.atomic():
        lock_table()
        row = newest()
        if row is None:
            row = create_key()
            logger.info("created the first session signing key %s", row.kid)
            return row, True
    return row, False


def signing_key() -> PrivateKey:
    """The key new session tokens are signed with (``kid`` + private key).

    Which key signs is remembered per process like a verification key (the package docstring):
    while the shared key-set generation is unchanged, or for ``VERIFICATION_CACHE_SECONDS`` when
    the cache cannot tell, so a login reads no key row. A key that was rotated away elsewhere
    still verifies everywhere (rotation keeps it unretired); a retired one is dropped by the same
    generation change that makes every process refuse it.
    """
    global _signing
    generation = cache.key_set_generation()
    now = time.monotonic()
    with cache.lock:
        choice = _signing
        cached = cache.private_keys.get(choice.kid) if choice is not None else None
    if cached is not None and cache.still_valid(
        cache.CachedKey(choice.loaded_at, choice.generation, None), generation, now
    ):
        return PrivateKey(kid=choice.kid, key=cached)
    row, created = _signing_key_row()
    key = _private_key(row)
    if not created:
        # A key created in this call is not remembered: the caller's transaction may still roll
        # it back. The next call reads it (committed by then, or gone).
        with cache.lock:
            _signing = _SigningChoice(row.kid, now, generation)
    return PrivateKey(kid=row.kid, key=key)


def _private_key(row: SigningKey) -> rsa.RSAPrivateKey:
    """The decrypted private key of ``row``, decrypted once per process."""
    with cache.lock:
        cached = cache.private_keys.get(row.kid)
    if cached is None:
        try:
            cached = keypairs.decrypt_private_key(row.private_key_encrypted)
        except (InvalidToken, ValueError) as exc:
            raise SigningKeyUnavailable(
                f"signing key {row.kid} cannot be decrypted with SECRET_KEY or "
                "SECRET_KEY_FALLBACKS; restore the old key as a fallback or run "
                "`manage.py hankoflow_jwk --rotate`"
            ) from exc
        with cache.lock:
            cache.private_keys[row.kid] = cached
    return cached


def well_formed_kid(kid: Any) -> bool:
    """A string that could be one of our key ids: 1-64 printable ASCII characters, no space."""
    return isinstance(kid, str) and _KID.fullmatch(kid) is not None


def verification_key(kid: Any) -> rsa.RSAPublicKey | None:
    """The public key of an unretired key named ``kid``, looked up in our table only.

    A malformed ``kid`` is refused without a lookup. Keys come from this process's cache while
    the shared key-set generation is unchanged (see the package docstring).
    """
    if not well_formed_kid(kid):
        return None
    generation = cache.key_set_generation()
    now = time.monotonic()
    with cache.lock:
        cached = cache.public_keys.get(kid)
    if cached is not None and cache.still_valid(cached, generation, now):
        return cached.key
    jwk = (
        SigningKey.objects.filter(kid=kid, retired_at__isnull=True)
        .values_list("public_jwk", flat=True)
        .first()
    )
    key = keypairs.public_key_from_jwk(jwk) if jwk is not None else None
    with cache.lock:
        if key is None:
            # Unknown kids are not remembered: a flood of made-up kids cannot fill the cache.
            cache.public_keys.pop(kid, None)
        else:
            cache.public_keys[kid] = cache.CachedKey(now, generation, key)
    return key


def public_jwks() -> dict[str, list[dict[str, Any]]]:
    """``{"keys": [...]}``: the public JWK of every unretired key, the signing key first."""
    rows = list(unretired())
    if not rows:  # an app backend may fetch the set before anybody has logged in
        signing_key_row()
        rows = list(unretired())
    return {"keys": [keypairs.public_members(row.public_jwk) for row in rows]}
