"""Database hooks as the admin API manages them (platform.md §1.17, §4.3.10): creating,
replacing, deleting, and their JSON form.

Hanko keeps each subscription as a ``webhook_events`` row with its own id; ours are a list on
the hook, and each one's id is derived from the hook's id and the event name (UUID v5), so it is
stable and unique per hook as Hanko's ids are.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from hankoflow import clock
from hankoflow.models import Webhook, WebhookDelivery
from hankoflow.services.accounts import rfc3339
from hankoflow.services.webhooks.outbox import emit_to
from hankoflow.services.webhooks.sources import renewed_expiry

# Not a Hanko event: what staff's "send a test event" sends (no subscription matches it).
TEST_EVENT = "webhook.test"


def _unique(events: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(events))  # Hanko: unique (webhook_id, event)


def create(callback: str, events: Sequence[str]) -> Webhook:
    """A new enabled hook with no failures, expiring in 30 days."""
    now = clock.now()
    return Webhook.objects.create(
        callback=callback,
        events=_unique(events),
        enabled=True,
        failures=0,
        expires_at=renewed_expiry(),
        created_at=now,
    )


def replace(hook: Webhook, *, callback: str, events: Sequence[str], enabled: bool) -> Webhook:
    """An admin ``PUT``: every field replaced, ``failures`` reset, ``expires_at`` renewed."""
    hook.callback = callback
    hook.events = _unique(events)
    hook.enabled = enabled
    hook.failures = 0
    hook.expires_at = renewed_expiry()
    hook.save()
    return hook


def set_enabled(hook: Webhook, enabled: bool) -> Webhook:
    """Enable (``failures`` reset, ``expires_at`` renewed, as an admin ``PUT``) or disable."""
    hook.enabled = enabled
    fields = ["enabled", "updated_at"]
    if enabled:
        hook.failures = 0
        hook.expires_at = renewed_expiry()
        fields += ["failures", "expires_at"]
    hook.save(update_fields=fields)
    return hook


def send_test(hook: Webhook) -> WebhookDelivery:
    """A ``webhook.test`` delivery to ``hook`` (sent after the commit, signed as every other)."""
    return emit_to(hook, TEST_EVENT, {"webhook_id": str(hook.pk), "test": True})


def delete(hook: Webhook) -> None:
    """Delete a hook and its deliveries."""
    hook.delete()


def find(hook_id: uuid.UUID) -> Webhook | None:
    return Webhook.objects.filter(pk=hook_id).first()


def event_id(hook: Webhook, event: str) -> str:
    return str(uuid.uuid5(hook.pk, event))


def as_json(hook: Webhook) -> dict[str, Any]:
    """The hook as Hanko's JSON: ``id``, ``callback``, ``enabled``, ``failures``,
    ``expires_at``, ``events`` (``[{"id", "event"}]``), ``created_at``, ``updated_at``."""
    return {
        "id": str(hook.pk),
        "callback": hook.callback,
        "enabled": hook.enabled,
        "failures": hook.failures,
        "expires_at": rfc3339(hook.expires_at),
        "events": [{"id": event_id(hook, e), "event": e} for e in hook.events or []],
        "created_at": rfc3339(hook.created_at),
        "updated_at": rfc3339(hook.updated_at),
    }


def listed() -> list[Webhook]:
    """Every database hook, enabled or not, oldest first."""
    return list(Webhook.objects.order_by("created_at"))
