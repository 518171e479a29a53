"""Where hooks come from (platform.md §5.1): rows made through the admin API (always active when
enabled) and ``WEBHOOKS.HOOKS`` from settings (active when ``WEBHOOKS.ENABLED``).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from hankoflow import clock
from hankoflow.conf import settings
from hankoflow.models import Webhook
from hankoflow.services import read_ahead, shared_cache
from hankoflow.services.webhooks import events

logger = logging.getLogger(__name__)

# A database hook lives this long after its creation, its last success or an admin PUT.
LIFETIME = timedelta(days=30)


@dataclass(frozen=True)
class Target:
    """One hook an event goes to: its callback and, for a database hook, its row."""

    callback: str
    webhook: Webhook | None = None


def config_hooks() -> list[dict[str, Any]]:
    """``WEBHOOKS.HOOKS`` as Hanko lists them: ``[{"callback", "events"}]`` (keys in either
    case in settings)."""
    hooks = []
    for hook in settings.WEBHOOKS.HOOKS or []:
        values = {str(key).lower(): value for key, value in dict(hook).items()}
        hooks.append(
            {"callback": str(values.get("callback", "")), "events": list(values.get("events", []))}
        )
    return hooks


def config_problems() -> list[str]:
    """What is wrong with ``WEBHOOKS.HOOKS`` (the system check ``hankoflow.E040``): each hook
    needs an http(s) ``CALLBACK`` and at least one valid event (platform.md §5.2)."""
    problems = []
    hooks = settings.WEBHOOKS.HOOKS or []
    if not isinstance(hooks, list | tuple):
        return ["HANKOFLOW[WEBHOOKS.HOOKS] must be a list of {'CALLBACK', 'EVENTS'}."]
    for index, hook in enumerate(hooks):
        where = f"HANKOFLOW[WEBHOOKS.HOOKS][{index}]"
        if not isinstance(hook, dict):
            problems.append(f"{where} must be a dict with CALLBACK and EVENTS.")
            continue
        values = {str(key).lower(): value for key, value in hook.items()}
        callback = values.get("callback")
        if not isinstance(callback, str) or not callback.lower().startswith(
            ("http://", "https://")
        ):
            problems.append(f"{where}: CALLBACK must be an http or https URL.")
        subscriptions = values.get("events")
        if not isinstance(subscriptions, list | tuple) or not subscriptions:
            problems.append(f"{where}: EVENTS must list at least one event.")
            continue
        unknown = [e for e in subscriptions if not events.is_subscription(e)]
        if unknown:
            problems.append(f"{where}: unknown events {unknown!r} (see platform.md §5.2).")
    return problems


def targets(event: str) -> list[Target]:
    """The hooks that receive ``event`` now, one per hook however many of its subscriptions
    match (§5.5). Admin changes apply at once (``_enabled_hooks``). With
    ``WEBHOOKS.ALLOW_TIME_EXPIRATION`` an expired hook is disabled here and skipped."""
    found: list[Target] = []
    now = clock.now()
    expired: list[Any] = []
    hooks = _enabled_hooks()
    wanted = [hook for hook in hooks if events.matches(hook.events or [], event)]
    if settings.WEBHOOKS.ALLOW_TIME_EXPIRATION and any(h.expires_at <= now for h in wanted):
        # A success renews a hook without announcing it: decide on the rows as stored now.
        wanted = [h for h in _enabled_hooks(fresh=True) if events.matches(h.events or [], event)]
    for hook in wanted:
        if settings.WEBHOOKS.ALLOW_TIME_EXPIRATION and hook.expires_at <= now:
            expired.append(hook.pk)
            continue
        found.append(Target(hook.callback, hook))
    if expired:
        Webhook.objects.filter(pk__in=expired).update(enabled=False, updated_at=now)
        forget()
    if settings.WEBHOOKS.ENABLED:
        found += [
            Target(hook["callback"])
            for hook in config_hooks()
            if hook["callback"] and events.matches(hook["events"], event)
        ]
    return found


# Every sign-in emits events, and most installations have no hook that wants them: the enabled
# hooks are kept in this process (``_copy``) for as long as the generation in the shared cache
# (``shared_cache``) stays the one read before they were loaded. Every change to a hook announces
# a new generation once it commits (``forget``: the signals below, and callers after bulk
# updates), so every process reloads on its next event. A success's renewal of ``expires_at`` is
# not announced; ``targets`` re-reads before it takes a hook for expired. A copy is also reloaded
# after ``COPY_SECONDS``, which bounds how long a change goes unseen when the cache failed just as
# it was announced. Without a shared cache
# (per-process, failing) the hooks are read from the database, once per transaction: one step
# often emits several events (a sign-in: session.create.flow and user.login).
GENERATION_CACHE_KEY = "hankoflow:webhooks:generation"
_MEMO_ATTR = "_hankoflow_enabled_webhooks"
_CHANGED_ATTR = "_hankoflow_changed_webhooks"
COPY_SECONDS = 10
_copy: tuple[str, float, list[Webhook]] | None = None  # (generation, loaded at, enabled hooks)
_copy_lock = threading.Lock()


def _enabled_hooks(*, fresh: bool = False) -> list[Webhook]:
    global _copy
    connection = transaction.get_connection()
    outermost = connection.atomic_blocks[0] if connection.in_atomic_block else None
    memo = getattr(connection, _MEMO_ATTR, None)
    if not fresh and outermost is not None and memo is not None and memo[0] is outermost:
        return memo[1]
    # A transaction that changed a hook reads its own rows, and keeps them to itself.
    changed = outermost is not None and getattr(connection, _CHANGED_ATTR, None) is outermost
    generation = None if changed else _generation()
    copy, now = _copy, time.monotonic()
    if (
        not fresh
        and generation is not None
        and copy is not None
        and copy[0] == generation
        and now - copy[1] < COPY_SECONDS
    ):
        hooks = copy[2]
    else:
        hooks = list(Webhook.objects.filter(enabled=True).order_by("created_at"))
        if generation is not None:
            with _copy_lock:
                _copy = (generation, now, hooks)
    if outermost is not None:
        setattr(connection, _MEMO_ATTR, (outermost, hooks))
    return hooks


def _generation() -> str | None:
    """The hooks' generation in the shared cache; None when it cannot tell (no shared cache,
    failing). A missing one (flushed cache) is replaced by a new one."""
    if shared_cache.shared(atomic=False) is None:
        return None
    ahead = read_ahead.known(GENERATION_CACHE_KEY)  # a sign-in reads it with the key set's
    if isinstance(ahead, str):
        return ahead
    return shared_cache.generation(GENERATION_CACHE_KEY, "webhooks are read from the database")


def forget() -> None:
    """A hook changed in the current transaction: this transaction reads the hooks afresh from
    now on, and once it commits every process does (a new generation)."""
    global _copy
    connection = transaction.get_connection()
    setattr(connection, _MEMO_ATTR, None)
    if connection.in_atomic_block:
        setattr(connection, _CHANGED_ATTR, connection.atomic_blocks[0])
    with _copy_lock:
        _copy = None
    # After the commit, not before: a process that loaded the hooks between a new generation
    # and the commit would keep the old rows under the new generation.
    transaction.on_commit(_new_generation)


def _new_generation() -> None:
    global _copy
    setattr(transaction.get_connection(), _CHANGED_ATTR, None)
    with _copy_lock:
        _copy = None
    cache = shared_cache.shared(atomic=False, skip_failing=False)
    if cache is None:
        return
    try:
        cache.set(GENERATION_CACHE_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:
        # Nothing to fall back on here: the other processes keep their copy until the next
        # change is announced. Logged loudly; the cache being down also makes every process
        # read the database (``_generation`` answers None).
        logger.error(
            "cache unavailable; other processes may not see a webhook change", exc_info=True
        )
        shared_cache.failed()


@receiver([post_save, post_delete], sender=Webhook)
def _hook_changed(**kwargs: Any) -> None:
    forget()


def renewed_expiry() -> Any:
    """``expires_at`` of a hook created, renewed by a success, or updated now."""
    return clock.now() + LIFETIME
