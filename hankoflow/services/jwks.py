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

Verification keys are cached per process, so that ``request.user`` from a JWT costs no key query.
Each cached key remembers the *key-set generation* it was loaded under: a random value kept in the
shared cache (``RATE_LIMITER.CACHE``), which ``rotate()`` and ``retire()`` replace after they
commit. Every verification reads the generation (one cache read) and drops keys loaded under
another one, so with a shared cache (Redis) a retired key is refused by every process from its
next request on. When the cache cannot tell (a per-process cache such as locmem, or the cache is
unreachable), cached keys are re-read from the database after ``VERIFICATION_CACHE_SECONDS``.

Hanko: RSA-4096 keys whose AES key is the SHA-256 of ``secret_keys[0]``; we use RSA-2048 (the
RS256 norm, a quarter of the signing cost) and a key derived from ``SECRET_KEY``.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection, transaction
from django.db.models import QuerySet

from hankoflow import clock
from hankoflow.conf import settings
from hankoflow.models.sessions import Session, SigningKey
from hankoflow.services import crypto

logger = logging.getLogger("hankoflow.jwks")

ALGORITHM = "RS256"
KEY_SIZE = 2048
PUBLIC_EXPONENT = 65537
# A cached verification key is re-read from the database after this many seconds when the shared
# cache cannot say whether the key set changed (per-process cache, cache down); see the docstring.
VERIFICATION_CACHE_SECONDS = 10
# After a failed cache read, skip the cache for this long: an unreachable Redis must not add its
# connection timeout to every authenticated request.
CACHE_RETRY_SECONDS = 5
GENERATION_CACHE_KEY = "hankoflow:jwks:generation"
# Our kids are UUIDs; a kid is at most 64 printable ASCII characters without spaces (the column's
# length). Anything else is refused before any lookup (issue 8: NUL made PostgreSQL fail).
_KID = re.compile(r"[!-~]{1,64}")
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


@dataclass(frozen=True)
class _CachedKey:
    loaded_at: float  # time.monotonic()
    generation: str | None  # the key-set generation read before the key was loaded
    key: rsa.RSAPublicKey | None  # None: no unretired key has this kid


_private_cache: dict[str, rsa.RSAPrivateKey] = {}
_public_cache: dict[str, _CachedKey] = {}
_lock = threading.Lock()
_cache_unusable_until = 0.0


def clear_cache() -> None:
    """Forget this process's decoded keys (done by ``rotate``/``retire``; useful in tests)."""
    global _cache_unusable_until
    with _lock:
        _private_cache.clear()
        _public_cache.clear()
        _cache_unusable_until = 0.0


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
        created_at=now or clock.now(),
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


def well_formed_kid(kid: Any) -> bool:
    """A string that could be one of our key ids: 1-64 printable ASCII characters, no space."""
    return isinstance(kid, str) and _KID.fullmatch(kid) is not None


def verification_key(kid: Any) -> rsa.RSAPublicKey | None:
    """The public key of an unretired key named ``kid``, looked up in our table only.

    A malformed ``kid`` is refused without a lookup. Keys come from this process's cache while
    the shared key-set generation is unchanged (see the module docstring).
    """
    if not well_formed_kid(kid):
        return None
    generation = key_set_generation()
    now = time.monotonic()
    with _lock:
        cached = _public_cache.get(kid)
    if cached is not None and _still_valid(cached, generation, now):
        return cached.key
    jwk = (
        SigningKey.objects.filter(kid=kid, retired_at__isnull=True)
        .values_list("public_jwk", flat=True)
        .first()
    )
    key = _public_key_from_jwk(jwk) if jwk is not None else None
    with _lock:
        if key is None:
            # Unknown kids are not remembered: a flood of made-up kids cannot fill the cache.
            _public_cache.pop(kid, None)
        else:
            _public_cache[kid] = _CachedKey(now, generation, key)
    return key


def _still_valid(cached: _CachedKey, generation: str | None, now: float) -> bool:
    if generation is not None and cached.generation == generation:
        return True
    # The shared cache cannot tell (now or when the key was loaded): fall back to the age bound.
    unknown = generation is None or cached.generation is None
    return unknown and now - cached.loaded_at < VERIFICATION_CACHE_SECONDS


def key_set_generation() -> str | None:
    """The shared key-set generation, or None when the shared cache cannot tell.

    None for a per-process cache (locmem), a cache that forgets what it is told (Django's dummy
    cache) and while the cache is unreachable. A missing value (a flushed or restarted cache)
    is replaced by a new one, which makes every process reload its keys once.
    """
    global _cache_unusable_until
    if time.monotonic() < _cache_unusable_until:
        return None
    try:
        cache = caches[settings.RATE_LIMITER.CACHE]
        if isinstance(cache, LocMemCache):
            return None  # each process has its own: it cannot carry news between them
        value = cache.get(GENERATION_CACHE_KEY)
        if value is None:
            cache.add(GENERATION_CACHE_KEY, uuid.uuid4().hex, timeout=None)
            value = cache.get(GENERATION_CACHE_KEY)
    except Exception:
        logger.warning(
            "cache unavailable; signing keys are re-read every %s s",
            VERIFICATION_CACHE_SECONDS,
            exc_info=True,
        )
        _cache_unusable_until = time.monotonic() + CACHE_RETRY_SECONDS
        return None
    return value if isinstance(value, str) else None


def _new_generation() -> None:
    """Tell every process that the key set changed (after the change is committed)."""
    try:
        caches[settings.RATE_LIMITER.CACHE].set(GENERATION_CACHE_KEY, uuid.uuid4().hex, None)
    except Exception:
        logger.warning(
            "cache unavailable; other processes see the key change within %s s",
            VERIFICATION_CACHE_SECONDS,
            exc_info=True,
        )


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
    now = now or clock.now()
    with transaction.atomic():
        _lock_table()
        row = create_key(now=now)
        _retire_spent(now)
        _announce_change()
    return row


def rotate_if_due(*, now: datetime | None = None) -> SigningKey | None:
    """The scheduled rotation (beat task ``hankoflow.rotate_signing_key``): a new signing key
    once the current one is ``SESSION.KEY_ROTATION.INTERVAL`` seconds old (0: never); either
    way, keys whose tokens have all expired are retired. The new key, or None."""
    now = now or clock.now()
    interval = int(settings.SESSION.KEY_ROTATION.INTERVAL)
    with transaction.atomic():
        _lock_table()  # two schedulers at once rotate once
        current = _newest()
        if interval > 0 and (
            current is None or current.created_at + timedelta(seconds=interval) <= now
        ):
            row = rotate(now=now)
            logger.info("rotated the session signing key: %s signs from now on", row.kid)
            return row
        if _retire_spent(now):
            _announce_change()
    return None


def _retire_spent(now: datetime) -> int:
    """Retire the keys that stopped signing more than ``SESSION.LIFESPAN`` ago and that no live
    session may need (the lifespan may have been longer when they signed); how many."""
    keys = list(SigningKey.objects.filter(retired_at__isnull=True).order_by("created_at", "id"))
    lifespan = timedelta(seconds=settings.SESSION.LIFESPAN)
    retired = 0
    # A key stopped signing when its successor was created; once that is longer ago than
    # the session lifespan, no valid token can carry its kid.
    for older, successor in zip(keys, keys[1:], strict=False):
        if successor.created_at + lifespan < now and not _live_sessions(older, now).exists():
            retired += SigningKey.objects.filter(pk=older.pk).update(retired_at=now)
    return retired


# Session rows do not record their key: a session belongs to the key that was signing when it
# was created. created_at is cut to the second and a key may be created while a token is being
# signed, so a session that close to either end of a key's time counts for it too.
KEY_USE_MARGIN = timedelta(seconds=60)


def _live_sessions(row: SigningKey, now: datetime) -> QuerySet[Session]:
    """The unexpired sessions whose token ``row`` may have signed (a generous estimate)."""
    successor = (
        SigningKey.objects.filter(retired_at__isnull=True, created_at__gt=row.created_at)
        .order_by("created_at", "id")
        .first()
    )
    sessions = Session.objects.filter(
        expires_at__gt=now, created_at__gte=row.created_at - KEY_USE_MARGIN
    )
    if successor is not None:
        sessions = sessions.filter(created_at__lt=successor.created_at + KEY_USE_MARGIN)
    return sessions


class RetireRefused(Exception):
    """Retiring this key now would break sign-ins or sign people out; ``forceable`` when
    ``force=True`` overrides it (live sessions), not when it never can (the signing key)."""

    def __init__(self, message: str, *, forceable: bool) -> None:
        super().__init__(message)
        self.forceable = forceable


def check_retire(kid: str, *, force: bool = False, now: datetime | None = None) -> None:
    """Raise ``RetireRefused`` unless ``kid`` can be retired: it must be an unretired key that
    no longer signs, and no live session may hold a token it signed (unless ``force``)."""
    now = now or clock.now()
    row = SigningKey.objects.filter(kid=kid, retired_at__isnull=True).first()
    if row is None:
        raise RetireRefused(f"no active key with kid {kid!r}", forceable=False)
    signing = _newest()
    if signing is not None and signing.pk == row.pk:
        alone = not SigningKey.objects.filter(retired_at__isnull=True).exclude(pk=row.pk).exists()
        what = "the only signing key" if alone else "the signing key"
        raise RetireRefused(
            f"{kid} is {what}: new sessions could not be signed with it retired. Run "
            "`manage.py hankoflow_jwk --rotate` first, then retire it (with --force if its "
            "tokens must stop working at once).",
            forceable=False,
        )
    if force:
        return
    live = _live_sessions(row, now)
    count = live.count()
    if count:
        last = max(live.values_list("expires_at", flat=True))
        raise RetireRefused(
            f"{count} live session(s) may hold tokens signed by {kid} (the last expires "
            f"{last.isoformat()}); retiring it now signs them out. Wait until then, or use "
            "--force (e.g. after a leak).",
            forceable=True,
        )


def retire_checked(kid: str, *, force: bool = False, now: datetime | None = None) -> None:
    """``check_retire`` then ``retire``: what the command and the admin do."""
    with transaction.atomic():
        _lock_table()
        check_retire(kid, force=force, now=now)
        retire(kid, now=now)


def retire(kid: str, *, now: datetime | None = None) -> bool:
    """Stop publishing and accepting one key, without checks: at once in every process that
    shares the cache, within ``VERIFICATION_CACHE_SECONDS`` in the others."""
    with transaction.atomic():
        retired = SigningKey.objects.filter(kid=kid, retired_at__isnull=True).update(
            retired_at=now or clock.now()
        )
        _announce_change()
    return bool(retired)


def _announce_change() -> None:
    # This process forgets at once; the others learn after the commit: a process reloading
    # between a new generation and the commit would cache the old key under the new one.
    clear_cache()
    transaction.on_commit(lambda: (clear_cache(), _new_generation()))
