"""Where hooks come from (platform.md §5.1): rows made through the admin API (always active when
enabled) and ``WEBHOOKS.HOOKS`` from settings (active when ``WEBHOOKS.ENABLED``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from hankoflow import clock
from hankoflow.conf import settings
from hankoflow.models import Webhook
from hankoflow.services.webhooks import events

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
    match (§5.5). Database hooks are read afresh: admin changes apply at once. With
    ``WEBHOOKS.ALLOW_TIME_EXPIRATION`` an expired hook is disabled here and skipped."""
    found: list[Target] = []
    now = clock.now()
    expired: list[Any] = []
    for hook in _enabled_hooks():
        if not events.matches(hook.events or [], event):
            continue
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


# One step often emits several events (a sign-in: session.create.flow and user.login); the
# enabled hooks are read once per transaction, not once per event. Any change to a hook in this
# process forgets the copy (signals below, and ``forget()`` after bulk updates).
_MEMO_ATTR = "_hankoflow_enabled_webhooks"


def _enabled_hooks() -> list[Webhook]:
    connection = transaction.get_connection()
    outermost = connection.atomic_blocks[0] if connection.in_atomic_block else None
    memo = getattr(connection, _MEMO_ATTR, None)
    if outermost is not None and memo is not None and memo[0] is outermost:
        return memo[1]
    hooks = list(Webhook.objects.filter(enabled=True).order_by("created_at"))
    if outermost is not None:
        setattr(connection, _MEMO_ATTR, (outermost, hooks))
    return hooks


def forget() -> None:
    """Drop this transaction's copy of the enabled hooks (after a hook changed)."""
    setattr(transaction.get_connection(), _MEMO_ATTR, None)


@receiver([post_save, post_delete], sender=Webhook)
def _hook_changed(**kwargs: Any) -> None:
    forget()


def renewed_expiry() -> Any:
    """``expires_at`` of a hook created, renewed by a success, or updated now."""
    return clock.now() + LIFETIME
