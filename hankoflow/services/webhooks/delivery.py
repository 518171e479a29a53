"""Sending one delivery, and the sweeper that sends what is still pending (platform.md §5.5).

``deliver()`` sends one pending row under a row lock, so it is sent once even when the task, a
retry, an in-process send and the sweeper meet (a crash between the receiver's answer and our
commit sends it again: at least once; every attempt carries the delivery's id in the
``Webhook-Id`` header, for the receiver to drop a copy). Each attempt is a ``WebhookAttempt``;
an answer below 400 is a success. A failure is retried after ``RETRY.BASE_DELAY`` seconds,
doubling, up to ``RETRY.MAX_ATTEMPTS`` attempts; a callback refused by the network guard is not
retried.

Database hooks keep Hanko's bookkeeping: a success sets ``failures`` to 0 and renews
``expires_at``; a delivery that failed for good adds 1 to ``failures``, and a hook with more
than 5 is disabled (its deliveries still pending are then closed unsent).
Hanko: one attempt, no retries; we count a delivery as failed once its retries are spent.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from django.db import router, transaction
from django.db.models import F, Q

from hankoflow import clock
from hankoflow.conf import settings
from hankoflow.models import Webhook, WebhookAttempt, WebhookDelivery
from hankoflow.services import outbox_rows
from hankoflow.services.webhooks import network, signing, sources

logger = logging.getLogger(__name__)

MAX_FAILURES = 5  # Hanko: disabled when failures > 5, i.e. at the 6th failed delivery
RETRY_MAX_DELAY = 3600
SWEEP_AFTER = 30  # the sweeper leaves fresh rows to the send that their commit started
SWEEP_BATCH = 200
# The delivery's id, the same on every attempt: the receiver's idempotency key.
ID_HEADER = "Webhook-Id"

Outcome = Literal["sent", "retry", "failed", "skipped"]


@dataclass(frozen=True)
class Delivery:
    """What ``deliver()`` did; ``retry_in`` (seconds) only for ``"retry"``."""

    outcome: Outcome
    retry_in: int | None = None


@dataclass(frozen=True)
class SweepResult:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    skipped: int = 0


def retry_delay(attempts: int) -> int:
    """Seconds to wait after the ``attempts``-th failed attempt: the base delay, doubling."""
    base = max(int(settings.WEBHOOKS.RETRY.BASE_DELAY), 0)
    return min(base * 2 ** max(attempts - 1, 0), RETRY_MAX_DELAY)


def deliver(delivery_id: str) -> Delivery:
    """Make one attempt at a pending delivery now, unless another process holds it or its
    retry is not due."""
    alias = router.db_for_write(WebhookDelivery)
    with transaction.atomic(using=alias):
        now = clock.now()
        row = outbox_rows.claim_due(
            WebhookDelivery,
            delivery_id,
            alias=alias,
            pending=WebhookDelivery.Status.PENDING,
            now=now,
        )
        if row is None:
            return Delivery("skipped")
        hook = Webhook.objects.using(alias).filter(pk=row.webhook_id).first()
        if row.webhook_id is not None and (hook is None or not hook.enabled):
            _close(row, WebhookDelivery.Status.FAILED, now, error="not sent: the hook is disabled")
            return Delivery("failed")
        if hook is not None and hook.callback != row.callback:
            row.callback = hook.callback  # an admin corrected the URL: retries go to the new one
            row.save(update_fields=["callback"])
        return _attempt(row, hook, now)


def _attempt(row: WebhookDelivery, hook: Webhook | None, now: datetime) -> Delivery:
    status_code: int | None = None
    latency_ms: int | None = None
    error = ""
    permanent = False
    try:
        body = signing.body(row.event, row.data)
        # Hanko: sends no id; ours lets a receiver drop a copy sent again (at least once).
        answer = network.post(
            row.callback,
            body,
            timeout=float(settings.WEBHOOKS.TIMEOUT),
            headers={ID_HEADER: str(row.pk)},
        )
        status_code, latency_ms = answer.status_code, answer.latency_ms
        if status_code >= 400:
            error = f"HTTP {status_code}"
    except network.Refused as exc:
        error, permanent = f"refused: {exc}", True
    except ValueError as exc:  # a sealed payload that no longer opens
        error, permanent = f"{type(exc).__name__}: {exc}", True
    except Exception as exc:  # timeouts, refused connections, TLS errors: worth a retry
        error = f"{type(exc).__name__}: {exc}"
    error = error[:1000]
    WebhookAttempt.objects.create(
        delivery=row, attempted_at=now, status_code=status_code, latency_ms=latency_ms, error=error
    )
    row.attempts += 1
    row.last_status_code = status_code
    if not error:
        _close(row, WebhookDelivery.Status.SENT, now)
        if hook is not None:
            Webhook.objects.filter(pk=hook.pk).update(
                failures=0, expires_at=sources.renewed_expiry(), updated_at=now
            )
        return Delivery("sent")
    if permanent or row.attempts >= max(int(settings.WEBHOOKS.RETRY.MAX_ATTEMPTS), 1):
        logger.warning("Webhook delivery %s to %s failed: %s", row.pk, row.callback, error)
        _close(row, WebhookDelivery.Status.FAILED, now, error=error)
        if hook is not None:
            _count_failure(hook, now)
        return Delivery("failed")
    # Hanko: drops a failed delivery at once; we retry with back-off (WEBHOOKS.RETRY).
    delay = retry_delay(row.attempts)
    logger.info("Webhook delivery %s failed (%s); retry in %s s", row.pk, error, delay)
    row.last_error = error
    row.next_attempt_at = now + timedelta(seconds=delay)
    row.save(update_fields=["attempts", "last_status_code", "last_error", "next_attempt_at"])
    return Delivery("retry", retry_in=delay)


def _count_failure(hook: Webhook, now: datetime) -> None:
    # Hanko: counts every failed attempt (it makes one per delivery); we count a delivery once
    # its retries are spent, so a receiver down for minutes is not disabled by one event.
    Webhook.objects.filter(pk=hook.pk).update(failures=F("failures") + 1, updated_at=now)
    if Webhook.objects.filter(pk=hook.pk, failures__gt=MAX_FAILURES, enabled=True).update(
        enabled=False, updated_at=now
    ):
        sources.forget()
        logger.warning("Webhook %s (%s) disabled after repeated failures", hook.pk, hook.callback)


def _close(row: WebhookDelivery, status: str, now: datetime, *, error: str = "") -> None:
    row.status = status
    row.last_error = error
    row.next_attempt_at = None
    if status == WebhookDelivery.Status.SENT:
        row.sent_at = now
    row.save(
        update_fields=[
            "status", "attempts", "last_status_code", "last_error", "next_attempt_at", "sent_at"
        ]
    )  # fmt: skip


def sweep(*, older_than: int = SWEEP_AFTER, limit: int = SWEEP_BATCH) -> SweepResult:
    """Attempt the pending deliveries older than ``older_than`` seconds whose retry is due,
    oldest first."""
    now = clock.now()
    due = (
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING,
            created_at__lte=now - timedelta(seconds=older_than),
        )
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    outcomes = Counter(deliver(str(pk)).outcome for pk in list(due))
    return SweepResult(**outcomes)
