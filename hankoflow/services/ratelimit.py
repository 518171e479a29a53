"""Rate limits of the flows, kept in Django's cache (platform.md §8, security-checks PC-06, RE-02).

Six buckets (``Bucket``), each ``TOKENS`` per ``INTERVAL`` seconds from
``RATE_LIMITER.<BUCKET>_LIMITS``: ``passcode`` (sending a code; key: client IP + email),
``passcode_email`` (sending a code; key: the email address alone; ``passcode_sends`` gives both),
``password`` (``password_login``; key: IP + login identifier), ``otp`` (TOTP at login; key: IP +
user id), ``token`` (``exchange_token``; key: IP) and ``admin_api`` (every admin API request;
key: the API key; limits ``ADMIN_API.RATE_LIMIT``). Flow steps spend them through
``hankoflow.steps.rate_limit_error``. As in Hanko the window of a key starts with its first use
and the whole budget comes back when it ends (a fixed window per key).

The counters live in the cache alias ``RATE_LIMITER.CACHE``: Redis in production, so every worker
process shares them (security-checks finding 3). Keys are SHA-256 hashes, so any identifier is a
safe cache key. Both steps are atomic: ``cache.add`` elects the first request of a window, which
fixes the window's start for everyone, and ``cache.incr`` counts.

When the cache fails (Redis down) the limiter lets requests through and logs a warning: these
are coarse, IP-based limits, and the per-address security counters that really bound guessing
(passcode tries and failure budget) live in the database (decision D3).
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.core.cache import caches

from hankoflow import clock
from hankoflow.conf import settings
from hankoflow.services import metrics

logger = logging.getLogger(__name__)


class Bucket(StrEnum):
    """A rate limit; its value names it in cache keys and logs, and its limits are the setting
    ``RATE_LIMITER.<VALUE>_LIMITS``."""

    PASSCODE = "passcode"
    # Hanko: limits sends per client IP and address only. Ours also per address (PC-06).
    PASSCODE_EMAIL = "passcode_email"
    PASSWORD = "password"  # noqa: S105 - a bucket name
    OTP = "otp"
    TOKEN = "token"  # noqa: S105 - a bucket name
    # Hanko: its admin API has no rate limit. Limits: ADMIN_API.RATE_LIMIT.
    ADMIN_API = "admin_api"

    @property
    def limits_setting(self) -> str:
        """The setting holding the limits, under ``RATE_LIMITER`` (the admin API's: its own)."""
        if self is Bucket.ADMIN_API:
            return "ADMIN_API.RATE_LIMIT"
        return f"{self.value.upper()}_LIMITS"

    def limits(self) -> Any:
        if self is Bucket.ADMIN_API:
            return settings.ADMIN_API.RATE_LIMIT
        return settings.RATE_LIMITER[self.limits_setting]


_PREFIX = "hankoflow:ratelimit"


@dataclass(frozen=True)
class Decision:
    """``allowed``, or denied with ``retry_after`` whole seconds until the window resets."""

    allowed: bool
    retry_after: int


ALLOWED = Decision(allowed=True, retry_after=0)


def take(bucket: Bucket, key: str) -> Decision:
    """Spend one token of ``bucket`` for ``key`` (see the ``*_key`` helpers)."""
    try:
        bucket = Bucket(bucket)
    except ValueError:
        raise KeyError(bucket) from None  # an unknown bucket: a programming error
    if not settings.RATE_LIMITER.ENABLED:
        return ALLOWED
    limits = bucket.limits()
    tokens, interval = int(limits.TOKENS), int(limits.INTERVAL)
    try:
        decision = _take(caches[settings.RATE_LIMITER.CACHE], bucket, key, tokens, interval)
    except Exception:
        # Hanko: a store error fails the request. We fail open (decision D3, RE-02).
        logger.warning("rate limiter cache unavailable; allowing %s request", bucket, exc_info=True)
        return ALLOWED
    if not decision.allowed:
        metrics.record_rate_limited(bucket.value)
    return decision


def passcode_key(ip: str, email: str) -> str:
    """Sending passcodes: per client IP and address; variants share one bucket (PC-06)."""
    return f"{ip}/{_folded(email)}"


def passcode_email_key(email: str) -> str:
    """Sending passcodes: per address, from any client; variants share one bucket."""
    return _folded(email)


def _folded(email: str) -> str:
    # Case and compatibility variants (full-width letters, which IDNA maps to ASCII before a
    # mail is sent) would each get a fresh budget. Folding too much only merges buckets.
    return unicodedata.normalize("NFKC", email.strip()).casefold()


def passcode_sends(ip: str, email: str) -> tuple[tuple[Bucket, str], ...]:
    """The buckets sending a passcode to ``email`` spends, with their keys, in the order to take
    them (stop at the first refusal). The per-client one comes first, so a client it already
    stops cannot spend the address's budget, which its owner needs too."""
    return (
        (Bucket.PASSCODE, passcode_key(ip, email)),
        (Bucket.PASSCODE_EMAIL, passcode_email_key(email)),
    )


def password_key(ip: str, user_identification: str) -> str:
    """Password logins: per client IP and login identifier."""
    # Hanko: keys on the identifier as typed; case variants would each get a fresh budget.
    return f"{ip}/{user_identification.strip().lower()}"


def otp_key(ip: str, user_id: str) -> str:
    """TOTP validation at login: per client IP and user."""
    return f"{ip}/{user_id}"


def token_key(ip: str) -> str:
    """One-time token exchange: per client IP."""
    return ip


def api_key_key(key_id: str) -> str:
    """The admin API: per API key, wherever its requests come from."""
    return key_id


def _take(cache, bucket: str, key: str, tokens: int, interval: int) -> Decision:
    digest = hashlib.sha256(f"{bucket}\0{key}".encode("utf-8", "surrogatepass")).hexdigest()
    now = clock.timestamp()
    window_key = f"{_PREFIX}:{bucket}:{digest}:start"
    start = now
    for _ in range(2):  # a second round when the window ended between ``add`` and ``get``
        if cache.add(window_key, now, timeout=interval):
            break
        stored = cache.get(window_key)
        if stored is not None:
            start = float(stored)
            break
    if now >= start + interval:
        # The window ended by the clock before the cache let its key go (a moved clock, or the
        # instant of expiry): count into the window that follows it, named the same by everyone.
        start += (now - start) // interval * interval
    # One counter per window, named after its start: a late request of an old window can never
    # count into the next one.
    count_key = f"{_PREFIX}:{bucket}:{digest}:{int(start * 1000)}"
    # The first request of a window creates its counter at 1 (two round trips in all, which
    # matters with two buckets per passcode send); the others count on.
    if cache.add(count_key, 1, timeout=interval + 1):
        used = 1
    else:
        try:
            used = cache.incr(count_key)
        except ValueError:  # expired between add and incr
            cache.add(count_key, 1, timeout=interval + 1)
            used = 1
    if used <= tokens:
        return ALLOWED
    return Decision(allowed=False, retry_after=max(1, int(start + interval - now)))
