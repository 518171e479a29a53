"""This process's decoded keys, and the shared key-set generation that tells every process when
to drop them (see the package docstring). Internal to the jwks package."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import transaction

from hankoflow.services import read_ahead, shared_cache

logger = logging.getLogger("hankoflow.jwks")

# A cached verification key is re-read from the database after this many seconds when the shared
# cache cannot say whether the key set changed (per-process cache, cache down); see the docstring.
VERIFICATION_CACHE_SECONDS = 10
# After a failed cache read, skip the cache for this long: an unreachable Redis must not add its
# connection timeout to every authenticated request.
CACHE_RETRY_SECONDS = shared_cache.RETRY_SECONDS
GENERATION_CACHE_KEY = "hankoflow:jwks:generation"
# The generation a caller already read from the cache (with other keys, in one round trip), for
# the key lookups it makes next; see ``known_generation``.
_known: ContextVar[str | None] = ContextVar("hankoflow_jwks_generation", default=None)


@dataclass(frozen=True)
class CachedKey:
    loaded_at: float  # time.monotonic()
    generation: str | None  # the key-set generation read before the key was loaded
    key: rsa.RSAPublicKey | None  # None: no unretired key has this kid


# Decoded keys by kid; read and written under ``lock``, cleared (never replaced) by clear_cache.
private_keys: dict[str, rsa.RSAPrivateKey] = {}
public_keys: dict[str, CachedKey] = {}
lock = threading.Lock()


def clear_cache() -> None:
    """Forget this process's decoded keys (done by ``rotate``/``retire``; useful in tests)."""
    with lock:
        private_keys.clear()
        public_keys.clear()
    shared_cache.reset()


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
    known = _known.get() or read_ahead.known(GENERATION_CACHE_KEY)
    if isinstance(known, str):
        return known
    return shared_cache.generation(
        GENERATION_CACHE_KEY, f"signing keys are re-read every {VERIFICATION_CACHE_SECONDS} s"
    )


@contextmanager
def known_generation(value: object) -> Iterator[None]:
    """Within the block, ``key_set_generation`` answers ``value`` without asking the cache: the
    caller read it together with other keys (one round trip). A value that is not a generation
    (missing from the cache) leaves the usual read in place."""
    token = _known.set(value if isinstance(value, str) else None)
    try:
        yield
    finally:
        _known.reset(token)


def _new_generation() -> None:
    """Tell every process that the key set changed (after the change is committed)."""
    try:
        shared_cache.configured().set(GENERATION_CACHE_KEY, uuid.uuid4().hex, None)
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
