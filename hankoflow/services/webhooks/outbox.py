"""Emitting an event: one ``WebhookDelivery`` per hook that wants it, written in the caller's
transaction and handed on once it commits (platform.md §5.5).

Hanko: hands each delivery to a goroutine at once, committed or not, and loses it on exit; ours
exist only if the change committed, and a broker or process that is down delays them (the
sweeper sends them) instead of losing them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.db import router, transaction

from hankoflow.models import Webhook, WebhookDelivery
from hankoflow.services.webhooks import dispatch, sources

logger = logging.getLogger(__name__)

Data = dict[str, Any] | Callable[[], dict[str, Any]]


def emit(event: str, data: Data) -> list[WebhookDelivery]:
    """Write a delivery of ``event`` for every hook that wants it; each is sent after the
    caller's transaction commits (at once without one). ``data`` is the payload, or a callable
    that builds it, called only when some hook wants the event. Never raises: a webhook must
    not fail the change it reports (the error is logged)."""
    alias = router.db_for_write(WebhookDelivery)
    try:
        targets = sources.targets(event)
        if not targets:
            return []
        payload = data() if callable(data) else data
        with transaction.atomic(using=alias):  # a savepoint: a failure leaves the caller's work
            rows = [
                WebhookDelivery.objects.using(alias).create(
                    webhook=target.webhook, callback=target.callback, event=event, data=payload
                )
                for target in targets
            ]
    except Exception:
        logger.exception("Could not record webhook event %s", event)
        return []
    for row in rows:
        transaction.on_commit(
            functools.partial(dispatch.send_after_commit, str(row.pk)), using=alias
        )
    return rows


def emit_to(hook: Webhook, event: str, data: dict[str, Any]) -> WebhookDelivery:
    """One delivery of ``event`` to ``hook`` alone, whatever it subscribes to (staff's "send a
    test event"); sent after the commit."""
    alias = router.db_for_write(WebhookDelivery)
    row = WebhookDelivery.objects.using(alias).create(
        webhook=hook, callback=hook.callback, event=event, data=data
    )
    transaction.on_commit(functools.partial(dispatch.send_after_commit, str(row.pk)), using=alias)
    return row


def requeue(row: WebhookDelivery) -> bool:
    """Send a delivery again now (staff's "retry now"): pending, due at once, with its attempt
    count kept, handed on after the commit. False when it is already pending and due."""
    alias = router.db_for_write(WebhookDelivery)
    updated = (
        WebhookDelivery.objects.using(alias)
        .filter(pk=row.pk)
        .exclude(status=WebhookDelivery.Status.PENDING, next_attempt_at__isnull=True)
        .update(status=WebhookDelivery.Status.PENDING, next_attempt_at=None, sent_at=None)
    )
    if updated:
        transaction.on_commit(
            functools.partial(dispatch.send_after_commit, str(row.pk)), using=alias
        )
    return bool(updated)
