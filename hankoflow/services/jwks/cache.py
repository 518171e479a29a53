"""This process's decoded keys, and the shared key-set generation that tells every process when
to drop them (see the package docstring). Internal to the jwks package."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction

from hankoflow.conf import settings

logger = logging.getLogger("hankoflow.jwks")

# A cached verification key is re-read from the database after this many seconds when the shared
# cache cannot say whether the key set changed (per-process cache, cache down); see the docstring.
VERIFICATION_CACHE_SECONDS = 10
# After a failed cache read, skip the cache for this long: an unreachable Redis must not add its
# connection timeout to every authenticated request.
CACHE_RETRY_SECONDS = 5
GENERATION_CACHE_KEY = "hankoflow:jwks:generation"


@dataclass(frozen=True)
class CachedKey:
    loaded_at: float  # time.monotonic()
    generation: str | None  # the key-set generation read before the key was loaded
    key: rsa.RSAPublicKey | None  # None: no unretired key has this kid


# Decoded keys by kid; read and written under ``lock``, cleared (never replaced) by clear_cache.
private_keys: dict[str, rsa.RSAPrivateKey] = {}
public_keys: dict[str, CachedKey] = {}
lock = threading.Lock()
_cache_unusable_until = 0.0


def clear_cache() -> None:
    """Forget this process's decoded keys (done by ``rotate``/``retire``; useful in tests)."""
    global _cache_unusable_until
    with lock:
        private_keys.clear()
        public_keys.clear()
        _cache_unusable_until = 0.0


def still_valid(cached: CachedKey, generation: str | None, now: float) -> bool:
    """Whether a cached verification key may still be used (``now``: time.monotonic())."""
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


def announce_change() -> None:
    """After a change to the key set in the current transaction: forget the decoded keys here,
    and tell the other processes once it commits."""
    # This process forgets at once; the others learn after the commit: a process reloading
    # between a new generation and the commit would cache the old key under the new one.
    clear_cache()
    transaction.on_commit(lambda: (clear_cache(), _new_generation()))
