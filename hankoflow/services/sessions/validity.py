"""The session-validity cache: ``request.user`` from a session JWT without reading the session row
on every request, while every way a session ends still ends access at once, in every process.

The database stays the source of truth. The shared cache (``RATE_LIMITER.CACHE``, Redis in
production) holds, per session, under ``hankoflow:session:<id>``, one of:

* a *valid* entry (the user's pk, the account id, and until when it may be trusted), written with
  ``add`` (SET NX) after a full check against the database, for at most ``LAST_USED_RESOLUTION``
  (5 s) and never past the session's expiry or idle deadline;
* an *ended* marker, written with ``set`` by whoever deletes the session row, inside the
  transaction that deletes it (a ``post_delete`` receiver on ``Session``, so queryset deletes,
  cascades from account and user deletion, Django admin and ``hankoflow_cleanup`` all write it),
  kept for the session's remaining life.

``authenticate(token)`` decodes the token and reads the entry and the key-set generation of
services/jwks in one round trip (``get_many``). A valid entry for the token's session and
subject gives the user with one SELECT by pk (so ``is_active=False`` ends access at once, as
in allauth). Anything else (no entry, the marker, an entry past its time) takes the full
database check (``validation.check``, which also records ``last_used`` and applies the idle
timeout); only a miss (no entry at all) then ``add``s a valid entry. So ``last_used`` is written
as often as without the cache, a little later at worst (within twice the resolution).

Why a revocation cannot leave a valid entry behind. A populator P reads no entry, reads the row
(present), then ``add``s. A revoker R deletes the row and ``set``s the marker before it commits.
``add`` never replaces a value and nothing but ``add`` writes a valid entry, so:
if R's ``set`` comes first, P's ``add`` finds the marker and writes nothing; if P's ``add``
comes first, R's ``set`` overwrites it. Either way the key holds the marker from R's ``set`` on,
before R's commit, for longer than any valid entry could live and until the session would have
expired. After the commit a reader sees the marker, checks the database and finds no row. A
reader that checks the database between R's ``set`` and R's commit still sees the row (it is
not deleted yet, as without the cache), but cannot ``add`` over the marker. A revocation that
rolls back leaves the marker: that session is checked in the database until it expires, which
costs reads, never a wrong answer.

Limits, all bounded by the 5 s a valid entry lives: a cache that loses the marker (evicted or
flushed between P's read of the row and P's ``add``, a failover that drops a recent write), or
a marker that cannot be written (the cache down at that moment: retried once after the commit).
The fast path needs a cache shared between processes with an atomic ``add``: not locmem or
dummy (per process), not the file or database caches (``add`` is check-then-write); with
those, or while the cache fails (skipped for ``shared_cache.RETRY_SECONDS``), or with
``SESSION.VALIDITY_CACHE`` off, every request takes the database check.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest

from hankoflow import clock
from hankoflow.conf import settings
from hankoflow.models.sessions import Session
from hankoflow.services import jwks, shared_cache
from hankoflow.services.jwks.cache import known_generation
from hankoflow.services.sessions import tokens, validation

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.core.cache import BaseCache

logger = logging.getLogger("hankoflow.sessions")

KEY_PREFIX = "hankoflow:session:"
VALID = "valid"
ENDED = "ended"
# A valid entry lives as long as last_used may lag (validation.LAST_USED_RESOLUTION).
ENTRY_SECONDS = int(validation.LAST_USED_RESOLUTION.total_seconds())


@dataclass(frozen=True)
class SessionUser:
    """The user of a valid session and the token's claims, as ``request.user`` and
    ``request.auth`` need them (no session row: ``SessionInfo`` has that)."""

    user: AbstractBaseUser
    claims: dict[str, Any]
    token_source: str = ""

    @property
    def from_cookie(self) -> bool:
        """The token came from the session cookie (ambient authority: mind CSRF)."""
        return self.token_source == validation.SOURCE_COOKIE

    @classmethod
    def of(cls, info: validation.SessionInfo) -> SessionUser:
        return cls(user=info.user, claims=info.claims, token_source=info.token_source)


def entry_key(session_id: uuid.UUID) -> str:
    return f"{KEY_PREFIX}{session_id}"


def enabled() -> bool:
    return bool(settings.SESSION.VALIDITY_CACHE)


def authenticate(token: Any, *, request: HttpRequest | None = None) -> SessionUser | None:
    """The user and claims of a valid session token, else None: the cache's answer when it
    has a valid entry, the database's otherwise (see the module docstring)."""
    cache = shared_cache.shared() if enabled() else None
    session_id = unverified_session_id(token) if cache is not None else None
    if cache is None or session_id is None:
        info = validation.validate(token, request=request)
        return SessionUser.of(info) if info is not None else None
    key = entry_key(session_id)
    try:
        values = cache.get_many([jwks.GENERATION_CACHE_KEY, key])
    except Exception:
        logger.warning("cache unavailable; sessions are checked in the database", exc_info=True)
        shared_cache.failed()
        values = {}
        cache = None
    with known_generation(values.get(jwks.GENERATION_CACHE_KEY)):
        claims = tokens.decode(token)
    if claims is None:
        return None
    same = tokens.canonical_uuid(claims.get("session_id")) == session_id
    entry = values.get(key) if same else ENDED
    if trusted(entry, claims):
        user = active_user(entry[1])
        return SessionUser(user, claims) if user is not None else None
    info = validation.check(claims, request=request)
    if info is None:
        return None
    if entry is None and cache is not None:
        remember(cache, key, info)
    return SessionUser.of(info)


def unverified_session_id(token: Any) -> uuid.UUID | None:
    """The ``session_id`` the token's payload names, read without checking anything: only to
    know which entry to fetch; the signed claims must name the same one before it is used."""
    if not isinstance(token, str) or len(token) > tokens.MAX_TOKEN_LENGTH:
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, TypeError, binascii.Error, RecursionError):
        return None  # RecursionError: JSON nested thousands deep
    return tokens.canonical_uuid(payload.get("session_id")) if isinstance(payload, dict) else None


def trusted(entry: Any, claims: dict[str, Any]) -> bool:
    """A valid entry for the token's subject that is still within its time."""
    return (
        isinstance(entry, tuple)
        and len(entry) == 4
        and entry[0] == VALID
        and entry[2] == claims.get("sub")
        and clock.timestamp() < entry[3]
    )


def active_user(pk: Any) -> AbstractBaseUser | None:
    """The user by pk (one SELECT), if it still exists and is active; None for a pk of the
    wrong type too (``HankoSessionBackend.get_user`` reads it from Django's session)."""
    model = get_user_model()
    try:
        user = model._default_manager.get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):
        return None
    return user if getattr(user, "is_active", True) else None


def remember(cache: BaseCache, key: str, info: validation.SessionInfo) -> None:
    """``add`` the valid entry of a session the database just found valid (never over a
    marker or another entry)."""
    now = clock.now()
    until = min(now + validation.LAST_USED_RESOLUTION, info.session.expires_at)
    idle = validation.idle_expires_at(info.session)
    if idle is not None:
        until = min(until, idle)
    seconds = (until - now).total_seconds()
    if seconds <= 0:
        return
    entry = (VALID, info.account.user_id, str(info.account.pk), until.timestamp())
    try:
        cache.add(key, entry, timeout=math.ceil(seconds))
    except Exception:
        logger.warning("cache unavailable; sessions are checked in the database", exc_info=True)
        shared_cache.failed()


def mark_ended(session_id: uuid.UUID, expires_at: datetime, *, using: str | None = None) -> None:
    """Write the ended marker of a session whose row is being deleted (inside the deleting
    transaction). Tried even while this process skips a failing cache: a revocation is rare
    and must reach the others; a failed write is tried again once the transaction commits."""
    if not enabled():
        return
    cache = shared_cache.shared(skip_failing=False)
    remaining = (expires_at - clock.now()).total_seconds()
    if cache is None or remaining <= 0:
        return  # no cache to tell, or expired already: no valid entry outlives the expiry
    # At least as long as a valid entry can live, whatever the clocks say.
    timeout = max(math.ceil(remaining), ENTRY_SECONDS) + 1
    key = entry_key(session_id)
    if not _write_marker(cache, key, timeout):
        transaction.on_commit(lambda: _write_marker(cache, key, timeout), using=using)


def _write_marker(cache: BaseCache, key: str, timeout: int) -> bool:
    try:
        cache.set(key, ENDED, timeout=timeout)
    except Exception:
        logger.error(
            "cache unavailable: other processes may accept an ended session for up to %s s",
            ENTRY_SECONDS,
            exc_info=True,
        )
        shared_cache.failed()
        return False
    return True


def session_deleted(sender: type[Session], instance: Session, using: str, **kwargs: Any) -> None:
    """The ``post_delete`` receiver for ``Session`` (connected in ``HankoflowConfig.ready``).
    Connected, it makes every queryset delete of sessions go through Django's collector and send
    this per row (no fast delete), cascades included."""
    mark_ended(instance.pk, instance.expires_at, using=using)
