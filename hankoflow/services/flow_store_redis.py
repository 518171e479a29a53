"""The engine's ``FlowStore`` on Redis: ``HANKOFLOW["FLOW_STORE"] = "redis"`` (issue 16).

Each flow is a Redis hash (``v`` its version, ``d`` its record as compact JSON) in the Redis of
the cache ``FLOW_STORE_CACHE``, under that cache's key prefix. A step costs two round trips and
no flow SQL: ``locked()`` reads the flow and takes a claim on it in one Lua script, ``save()``
checks the claim and the version, writes and gives up the claim in another. The step's own model
writes still run in the ``transaction.atomic()`` block ``locked()`` opens, so they commit or roll
back with the step; a step that writes nothing sends no SQL at all (psycopg begins lazily).

Semantics, next to the database store's (flow-api.md §1.8-1.9):

* One step at a time per flow: the claim (a random token, ``CLAIM_SECONDS`` at most) is held
  from the read to the save. A request that finds it held is refused at once with 403
  ``operation_not_permitted``, as the database store's waiter is after the lock (Hanko's Redis
  locker answers 500). The claim expires by itself if a worker dies holding it.
* The version check on save and the claim token together make the write a compare-and-set: a
  step whose claim ran out, or whose flow moved on, raises ``StaleFlowError`` and its database
  work rolls back.
* Expiry: a flow's key lives until ``expires_at`` plus ``EXPIRED_GRACE_SECONDS``, so for an hour
  after it expires a step still answers 410 ``flow_expired``; after that the key is gone and the
  flow answers 403 like an unknown one (as after ``hankoflow_cleanup`` with the database store).
* The claim is given up by the save (marked done), before the database commits: nobody can
  act on the new version before the response carries its CSRF token. If the commit then
  fails, the previous value is put back (only if the flow is still at our version). Crash
  window: a process that dies between the save and the commit, or a failed put-back, leaves
  the flow advanced in Redis while the step's database work rolled back; the client never got
  the new token, so the flow is dead for it and it starts a new one.
* The scripts recognise their own earlier run, so a command the client resends after a lost
  answer neither refuses its own claim nor fails a save that went through.

Flow inspection (the admin's flow pages, the funnel, ``manage.py hankoflow_flows list``) reads
the database table and says so when this store is on; one flow is read by its id through
``peek()``, as the Flow Execution API reads it.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import InvalidCacheBackendError, caches
from django.core.cache.backends.redis import RedisCache
from django.db import router, transaction
from redis.commands.core import Script
from redis.exceptions import RedisError

from hankoflow import clock
from hankoflow.engine import FlowRecord, StaleFlowError, Stash
from hankoflow.engine.store import MAX_HISTORY
from hankoflow.models import Flow

logger = logging.getLogger("hankoflow.flow_store")

CLAIM_SECONDS = 30  # longest step we expect; Hanko's locker schema documents 30 s
EXPIRED_GRACE_SECONDS = 3600  # an expired flow answers flow_expired this long, then vanishes

# Every script may be run twice for one call (the client retries a command whose answer was
# lost), so each recognises its own earlier run. A claim is a token while its step runs and
# "done:" + token once the step saved; a done claim is free for the next step.

# KEYS: flow, claim. ARGV: claim token, claim ms. -> nil (unknown), 0 (held by another step),
# or {version, data}. The flow is checked first, so an unknown id never leaves a claim behind.
_LOCK = Script(
    None,
    b"""
local found = redis.call('HMGET', KEYS[1], 'v', 'd')
if not found[1] then return nil end
local held = redis.call('GET', KEYS[2])
if held and held ~= ARGV[1] and string.sub(held, 1, 5) ~= 'done:' then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return found
""",
)
# KEYS: flow, claim. ARGV: claim token, stored version, new version, data, lifetime ms.
# -> 1 saved, 0 stale (claim lost or version moved on).
_SAVE = Script(
    None,
    b"""
local held = redis.call('GET', KEYS[2])
local version = redis.call('HGET', KEYS[1], 'v')
if held == 'done:' .. ARGV[1] and version == ARGV[3] then return 1 end
if held ~= ARGV[1] or version ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[3], 'd', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('SET', KEYS[2], 'done:' .. ARGV[1], 'KEEPTTL')
return 1
""",
)
# KEYS: claim. ARGV: claim token. Drops the claim only if it is still ours.
_RELEASE = Script(
    None,
    b"""
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
""",
)
# KEYS: flow. ARGV: our version, previous version, previous data. Undoes our save, if nobody
# saved after it (the key keeps its lifetime).
_PUT_BACK = Script(
    None,
    b"""
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3])
return 1
""",
)
# KEYS: flow. ARGV: data, lifetime ms. A new flow at version 0; an existing id is not overwritten.
_CREATE = Script(
    None,
    b"""
if redis.call('HSETNX', KEYS[1], 'd', ARGV[1]) == 0 then
  return redis.call('HGET', KEYS[1], 'd') == ARGV[1] and 1 or 0
end
redis.call('HSET', KEYS[1], 'v', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
""",
)


class RedisUnavailable(Exception):
    """``FLOW_STORE_CACHE`` is not a Redis cache (system check hankoflow.E012 says so first)."""


@dataclass
class _Claim:
    flow_id: str
    token: str
    version: int
    data: bytes  # the value as loaded, to put back if the commit fails
    saved: bool = False


class RedisFlowStore:
    """Stores flows in Redis, one hash per flow, claimed for the length of a step."""

    def __init__(self, cache_alias: str = "default") -> None:
        self.cache_alias = cache_alias
        self._claims: dict[str, _Claim] = {}

    # --- the engine's protocol -----------------------------------------------------------------

    def create(self, record: FlowRecord) -> None:
        cache, client = self._client()
        args = (_dump(record), _lifetime_ms(record.expires_at))
        if not _CREATE(keys=[_key(cache, record.id)], args=args, client=client):
            raise StaleFlowError(record.id)  # a random UUID that exists: never in practice

    @contextmanager
    def locked(
        self, flow_id: str, action: str = "", new: FlowRecord | None = None
    ) -> Iterator[FlowRecord | None]:
        cache, client = self._client()
        if new is not None:
            # Stored at version 0 first, then claimed as any flow: of rival first actions one
            # claims it, and once it has moved on the start token no longer matches it.
            self.create(new)
        claim: _Claim | None = None
        try:
            with transaction.atomic(using=router.db_for_write(Flow)):
                token = secrets.token_hex(16)
                keys = [_key(cache, flow_id), _claim_key(cache, flow_id)]
                found = _LOCK(keys=keys, args=(token, CLAIM_SECONDS * 1000), client=client)
                if found is None:
                    yield None
                    return
                if found == 0:
                    # Hanko: its Redis locker answers 500; another step holds the flow, so this
                    # one is refused as a stale step is (403), as the database store's waiter is.
                    raise StaleFlowError(flow_id)
                version, data = int(found[0]), found[1]
                claim = self._claims[flow_id] = _Claim(flow_id, token, version, data)
                yield _load(flow_id, version, data)
        except BaseException:
            if claim is not None:
                self._undo(cache, client, claim)
            raise
        finally:
            self._claims.pop(flow_id, None)
        if claim is not None and not claim.saved:
            self._release(cache, client, claim)

    def save(self, record: FlowRecord) -> None:
        claim = self._claims.get(record.id)
        if claim is None or claim.version != record.version - 1:
            raise StaleFlowError(record.id)
        cache, client = self._client()
        args = (
            claim.token,
            claim.version,
            record.version,
            _dump(record),
            _lifetime_ms(record.expires_at),
        )
        keys = [_key(cache, record.id), _claim_key(cache, record.id)]
        if not _SAVE(keys=keys, args=args, client=client):
            raise StaleFlowError(record.id)
        claim.saved = True

    def peek(self, flow_id: str) -> FlowRecord | None:
        cache, client = self._client()
        version, data = client.hmget(_key(cache, flow_id), ["v", "d"])
        return _load(flow_id, int(version), data) if data is not None else None

    # --- outages -------------------------------------------------------------------------------

    def reachable(self) -> bool:
        try:
            return bool(self._client()[1].ping())
        except (RedisError, RedisUnavailable, InvalidCacheBackendError):
            return False

    # --- helpers -------------------------------------------------------------------------------

    def _client(self) -> tuple[RedisCache, Any]:
        cache = caches[self.cache_alias]
        if not isinstance(cache, RedisCache):
            raise RedisUnavailable(self.cache_alias)
        return cache, cache._cache.get_client(write=True)

    def _release(self, cache: RedisCache, client: Any, claim: _Claim) -> None:
        try:
            _RELEASE(keys=[_claim_key(cache, claim.flow_id)], args=(claim.token,), client=client)
        except RedisError:
            # The claim expires by itself; the step's answer stands.
            logger.warning("releasing the claim on flow %s failed", claim.flow_id, exc_info=True)

    def _undo(self, cache: RedisCache, client: Any, claim: _Claim) -> None:
        """The step failed after the claim: put the saved value back, or drop the claim."""
        if not claim.saved:
            self._release(cache, client, claim)
            return
        try:
            args = (claim.version + 1, claim.version, claim.data)
            _PUT_BACK(keys=[_key(cache, claim.flow_id)], args=args, client=client)
        except RedisError:
            logger.error("flow %s advanced but its step rolled back", claim.flow_id, exc_info=True)


def _key(cache: RedisCache, flow_id: str) -> str:
    return cache.make_key(f"hankoflow:flow:{flow_id}")


def _claim_key(cache: RedisCache, flow_id: str) -> str:
    return cache.make_key(f"hankoflow:flow:{flow_id}:claim")


def _lifetime_ms(expires_at: datetime) -> int:
    left = (expires_at - clock.now()).total_seconds() + EXPIRED_GRACE_SECONDS
    return max(1000, int(left * 1000))


def _dump(record: FlowRecord) -> str:
    """What the database store's columns hold; the history's first entry dates the start."""
    value = {
        "name": record.flow_name,
        "stash": record.stash.to_dict(copy=False),  # serialised at once: nothing to copy
        "csrf": record.csrf_token_hash,
        "expires_at": record.expires_at.isoformat(),
        "language": record.facts.get("language", ""),
        "history": record.history[-MAX_HISTORY:],
    }
    return json.dumps(value, separators=(",", ":"))


def _load(flow_id: str, version: int, data: bytes | str) -> FlowRecord:
    value = json.loads(data)
    return FlowRecord(
        id=flow_id,
        flow_name=value["name"],
        stash=Stash.from_dict(value["stash"]),
        csrf_token_hash=value["csrf"],
        expires_at=datetime.fromisoformat(value["expires_at"]),
        version=version,
        facts={"language": value["language"]},
        history=value.get("history") or [],
    )
