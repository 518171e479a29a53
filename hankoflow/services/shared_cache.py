"""The cache hankoflow shares between processes (``RATE_LIMITER.CACHE``, Redis in production), as
the key-set generation (services/jwks) and the session-validity cache (services/sessions/validity)
use it: only when it can carry news from one process to another, and not while it is failing.

``shared()`` is that cache, or None when it cannot be trusted for that: a per-process cache
(locmem), one that forgets what it is told (dummy), one whose ``add`` is not atomic (file-based,
database: a marker written between its check and its write would be lost), or one that failed a
moment ago. After a failure (``failed()``) the cache is skipped for ``RETRY_SECONDS`` in this
process, so that an unreachable Redis does not add its connection timeout to every request.
"""

from __future__ import annotations

import logging
import time
import uuid

from django.core.cache import BaseCache, caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.locmem import LocMemCache

from hankoflow.conf import settings

logger = logging.getLogger(__name__)

RETRY_SECONDS = 5
PER_PROCESS = (LocMemCache, DummyCache)
NOT_ATOMIC = (FileBasedCache, DatabaseCache)

_unusable_until = 0.0


def configured() -> BaseCache:
    """The configured cache, whatever it is."""
    return caches[settings.RATE_LIMITER.CACHE]


def available() -> bool:
    """False for a moment after a failure (``failed``)."""
    return time.monotonic() >= _unusable_until


def failed() -> None:
    """The cache just failed: skip it for ``RETRY_SECONDS`` in this process."""
    global _unusable_until
    _unusable_until = time.monotonic() + RETRY_SECONDS


def reset() -> None:
    """Forget a failure (tests)."""
    global _unusable_until
    _unusable_until = 0.0


def shared(*, atomic: bool = True, skip_failing: bool = True) -> BaseCache | None:
    """The cache if it is shared between processes (and, with ``atomic``, has an atomic
    ``add``) and (with ``skip_failing``) did not fail a moment ago; else None."""
    if skip_failing and not available():
        return None
    cache = configured()
    if isinstance(cache, PER_PROCESS) or (atomic and isinstance(cache, NOT_ATOMIC)):
        return None
    return cache


def generation(key: str, when_failing: str) -> str | None:
    """The generation stored under ``key``: a random value that a writer replaces to tell every
    process that what it copied is stale. None when the cache cannot tell (not shared, failing;
    the warning then says ``when_failing``). A missing one (a flushed or restarted cache) is
    replaced by a new one. No atomic add is needed: processes racing to create it all end up
    reading the one that won, or reload once more."""
    cache = shared(atomic=False)
    if cache is None:
        return None
    try:
        value = cache.get(key)
        if value is None:
            cache.add(key, uuid.uuid4().hex, timeout=None)
            value = cache.get(key)
    except Exception:
        logger.warning("cache unavailable; %s", when_failing, exc_info=True)
        failed()
        return None
    return value if isinstance(value, str) else None
