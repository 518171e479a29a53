"""RS256 signing keys for session JWTs, and the JWK set that publishes them (platform.md §2.2).

Keys live in ``SigningKey`` rows. The private key is stored as a Fernet token (AES-128-CBC +
HMAC-SHA256) whose key is derived from Django's ``SECRET_KEY`` with HKDF-SHA256 (see
services/crypto.py), never in the clear; ``SECRET_KEY_FALLBACKS`` still decrypt, so a
``SECRET_KEY`` rotation done the Django way keeps old keys usable (security-checks SE-04, CF-01).
Public keys are stored as JWKs and are what ``public_jwks()`` serves and ``verification_key()``
verifies with.

The newest unretired key signs; every unretired key verifies, so after ``rotate()`` tokens
signed with the previous key stay valid until they expire. ``rotate()`` also retires keys that
stopped signing more than ``SESSION.LIFESPAN`` ago (no unexpired token can name them).

Hanko: RSA-4096 keys whose AES key is the SHA-256 of ``secret_keys[0]``; we use RSA-2048 (the
RS256 norm, a quarter of the signing cost) and a key derived from ``SECRET_KEY``.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import connection, transaction
from django.utils import timezone

from hankoflow.conf import settings
from hankoflow.models.sessions import SigningKey
from hankoflow.services import crypto

logger = logging.getLogger("hankoflow.jwks")

ALGORITHM = "RS256"
KEY_SIZE = 2048
PUBLIC_EXPONENT = 65537
# Verification keys are cached per process; a key retired by another process stops verifying
# here after at most this many seconds.
VERIFICATION_CACHE_SECONDS = 60
# services/crypto.py purpose (HKDF info "hankoflow signing keys v1").
_CRYPTO_PURPOSE = "signing keys"


class SigningKeyUnavailable(RuntimeError):
    """The signing key cannot be decrypted (``SECRET_KEY`` changed without a fallback)."""


@dataclass(frozen=True)
class PrivateKey:
    kid: str
    key: rsa.RSAPrivateKey


# --- encryption at rest ------------------------------------------------------------------------


def encrypt_private_key(key: rsa.RSAPrivateKey) -> str:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return crypto.encrypt(pem, _CRYPTO_PURPOSE)


def decrypt_private_key(token: str) -> rsa.RSAPrivateKey:
    """The private key of a row; InvalidToken when no configured secret decrypts it."""
    pem = crypto.decrypt(token, _CRYPTO_PURPOSE)
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidToken
    return key


# --- JWK encoding ------------------------------------------------------------------------------


def _b64_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _uint_b64(text: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def public_jwk(kid: str, key: rsa.RSAPublicKey) -> dict[str, str]:
    numbers = key.public_numbers()
    return {
        "kty": "RSA",
        "kid": kid,
        "alg": ALGORITHM,
        "use": "sig",
        "n": _b64_uint(numbers.n),
        "e": _b64_uint(numbers.e),
    }


def _public_key_from_jwk(jwk: dict[str, Any]) -> rsa.RSAPublicKey:
    return rsa.RSAPublicNumbers(_uint_b64(jwk["e"]), _uint_b64(jwk["n"])).public_key()


# --- keys --------------------------------------------------------------------------------------

_private_cache: dict[str, rsa.RSAPrivateKey] = {}
_public_cache: dict[str, tuple[float, rsa.RSAPublicKey]] = {}
_lock = threading.Lock()


def clear_cache() -> None:
    """Forget this process's decoded keys (done by ``rotate``/``retire``; useful in tests)."""
    with _lock:
        _private_cache.clear()
        _public_cache.clear()


def generate_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=KEY_SIZE)


def create_key(*, now: datetime | None = None) -> SigningKey:
    """Generate and store a new key pair; it becomes the signing key."""
    private = generate_private_key()
    kid = str(uuid.uuid4())
    row = SigningKey.objects.create(
        kid=kid,
        private_key_encrypted=encrypt_private_key(private),
        public_jwk=public_jwk(kid, private.public_key()),
        created_at=now or timezone.now(),
    )
    with _lock:
        _private_cache[kid] = private
    return row


def _newest() -> SigningKey | None:
    return SigningKey.objects.filter(retired_at__isnull=True).order_by("-created_at", "-id").first()


def _lock_table() -> None:
    # Serialises "create the first key" between processes. SQLite transactions are already
    # serialised (the demo opens them IMMEDIATE); elsewhere a rare duplicate key is harmless:
    # both are published and everybody signs with the newest.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {SigningKey._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")


def signing_key_row() -> SigningKey:
    """The newest unretired key row, created on first use (race-safe)."""
    row = _newest()
    if row is not None:
        return row
    with transaction.atomic():
        _lock_table()
        row = _newest()
        if row is None:
            row = create_key()
            logger.info("created the first session signing key %s", row.kid)
    return row


def signing_key() -> PrivateKey:
    """The key new session tokens are signed with (``kid`` + private key)."""
    row = signing_key_row()
    with _lock:
        cached = _private_cache.get(row.kid)
    if cached is None:
        try:
            cached = decrypt_private_key(row.private_key_encrypted)
        except (InvalidToken, ValueError) as exc:
            raise SigningKeyUnavailable(
                f"signing key {row.kid} cannot be decrypted with SECRET_KEY or "
                "SECRET_KEY_FALLBACKS; restore the old key as a fallback or run "
                "`manage.py hankoflow_jwk --rotate`"
            ) from exc
        with _lock:
            _private_cache[row.kid] = cached
    return PrivateKey(kid=row.kid, key=cached)


def verification_key(kid: Any) -> rsa.RSAPublicKey | None:
    """The public key of an unretired key named ``kid``, looked up in our table only."""
    if not isinstance(kid, str) or not kid or len(kid) > 64:
        return None
    now = time.monotonic()
    with _lock:
        cached = _public_cache.get(kid)
    if cached is not None and now - cached[0] < VERIFICATION_CACHE_SECONDS:
        return cached[1]
    jwk = (
        SigningKey.objects.filter(kid=kid, retired_at__isnull=True)
        .values_list("public_jwk", flat=True)
        .first()
    )
    if jwk is None:
        with _lock:
            _public_cache.pop(kid, None)
        return None
    key = _public_key_from_jwk(jwk)
    with _lock:
        _public_cache[kid] = (now, key)
    return key


def public_jwks() -> dict[str, list[dict[str, Any]]]:
    """``{"keys": [...]}``: the public JWK of every unretired key, the signing key first."""
    signing_key_row()  # an app backend may fetch the set before anybody has logged in
    rows = SigningKey.objects.filter(retired_at__isnull=True).order_by("-created_at", "-id")
    return {"keys": [_public_members(row.public_jwk) for row in rows]}


def _public_members(jwk: dict[str, Any]) -> dict[str, Any]:
    # Defence in depth: whatever is stored, only public RSA members ever leave (SE-04).
    return {name: jwk[name] for name in ("kty", "kid", "alg", "use", "n", "e") if name in jwk}


def rotate(*, now: datetime | None = None) -> SigningKey:
    """Create a new signing key; retire keys whose tokens have all expired."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock_table()
        previous = list(
            SigningKey.objects.filter(retired_at__isnull=True).order_by("created_at", "id")
        )
        row = create_key(now=now)
        lifespan = timedelta(seconds=settings.SESSION.LIFESPAN)
        # A key stopped signing when its successor was created; once that is longer ago than
        # the session lifespan, no valid token can carry its kid.
        for older, successor in zip(previous, [*previous[1:], row], strict=True):
            if successor.created_at + lifespan < now:
                SigningKey.objects.filter(pk=older.pk).update(retired_at=now)
    clear_cache()
    return row


def retire(kid: str, *, now: datetime | None = None) -> bool:
    """Stop publishing and accepting one key (its tokens stop validating at once)."""
    retired = SigningKey.objects.filter(kid=kid, retired_at__isnull=True).update(
        retired_at=now or timezone.now()
    )
    clear_cache()
    return bool(retired)
