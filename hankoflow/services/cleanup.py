"""Deleting rows that no longer matter, so that every table stays bounded (issue 11).

``manage.py hankoflow_cleanup`` and the beat task ``hankoflow.cleanup`` both call ``run()``.
What goes, table by table (a row expires when its ``expires_at`` is not after now, as everywhere
else in the package):

* flows, passcodes, WebAuthn challenges, sessions, trusted devices: expired;
* attempt budgets: no failure left that counts (none within ``attempts.CEILING_COOLDOWN``) and
  no success within ``attempts.KNOWN_NETWORK_FOR`` — such a row answers as a missing one does;
* outbox emails: sent or failed, created more than ``EMAIL_DELIVERY.OUTBOX_RETENTION`` ago
  (pending rows are never touched);
* webhook deliveries (with their attempts): sent or failed, created more than
  ``WEBHOOKS.RETENTION`` ago;
* audit log entries: created more than ``AUDIT_LOG.RETENTION`` ago.

A retention of 0 keeps those rows for ever. Rows are deleted in batches of ``BATCH_SIZE``
primary keys, each batch in its own short transaction, so no table is locked for long and a
run that stops half way has still done its part. Rows that stop mattering during a run are
left for the next one.

Hanko: ``hanko cleanup`` covers flows, WebAuthn session data and audit logs, and deletes nothing
unless given ``--run``; we cover every table that grows and default to deleting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models, router, transaction
from django.db.models import Q

from hankoflow import clock
from hankoflow.conf import settings
from hankoflow.models import (
    AttemptBudget,
    AuditLogEntry,
    Flow,
    OutboxEmail,
    Passcode,
    Session,
    TrustedDevice,
    WebauthnChallenge,
    WebhookDelivery,
)
from hankoflow.services import attempts

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000


@dataclass(frozen=True)
class Target:
    """One table and the rows of it that no longer matter at ``now``."""

    name: str
    model: type[models.Model]
    condition: Callable[[datetime], Q | None]  # None: nothing to delete (retention 0)


def _expired(now: datetime) -> Q:
    return Q(expires_at__lte=now)


def _spent_budget(now: datetime) -> Q:
    # attempts._current: a failure counts while now < last_failure_at + cooldown;
    # attempts._known: a network is known while now < last_success_at + known_network_for.
    # Every kind (password, passcode, totp) has DEFAULT_POLICY; a kind with longer limits
    # would need its own condition here.
    policy = attempts.DEFAULT_POLICY
    no_failure = Q(last_failure_at__isnull=True) | Q(last_failure_at__lte=now - policy.cooldown)
    no_success = Q(last_success_at__isnull=True) | Q(
        last_success_at__lte=now - policy.known_network_for
    )
    return no_failure & no_success


def _old_outbox(now: datetime) -> Q | None:
    retention = int(settings.EMAIL_DELIVERY.OUTBOX_RETENTION)
    if retention <= 0:
        return None
    closed = [OutboxEmail.Status.SENT, OutboxEmail.Status.FAILED]
    return Q(status__in=closed, created_at__lt=now - timedelta(seconds=retention))


def _old_webhook_deliveries(now: datetime) -> Q | None:
    retention = int(settings.WEBHOOKS.RETENTION)
    if retention <= 0:
        return None
    closed = [WebhookDelivery.Status.SENT, WebhookDelivery.Status.FAILED]
    return Q(status__in=closed, created_at__lt=now - timedelta(seconds=retention))


def _old_audit(now: datetime) -> Q | None:
    retention = int(settings.AUDIT_LOG.RETENTION)
    if retention <= 0:
        return None
    return Q(created_at__lt=now - timedelta(seconds=retention))


TARGETS: tuple[Target, ...] = (
    Target("flows", Flow, _expired),
    Target("passcodes", Passcode, _expired),
    Target("webauthn_challenges", WebauthnChallenge, _expired),
    Target("sessions", Session, _expired),
    Target("trusted_devices", TrustedDevice, _expired),
    Target("attempt_budgets", AttemptBudget, _spent_budget),
    Target("outbox_emails", OutboxEmail, _old_outbox),
    Target("webhook_deliveries", WebhookDelivery, _old_webhook_deliveries),
    Target("audit_log_entries", AuditLogEntry, _old_audit),
)
NAMES = tuple(target.name for target in TARGETS)


def run(
    *,
    dry_run: bool = False,
    only: tuple[str, ...] | list[str] | None = None,
    batch_size: int = BATCH_SIZE,
    now: datetime | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Delete (or, with ``dry_run``, count) what no longer matters; the count per table name.

    ``only`` limits the run to some of ``NAMES``; ``progress(name, deleted_so_far)`` is called
    after each batch. Every table is judged at the same ``now``.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    unknown = sorted(set(only or ()) - set(NAMES))
    if unknown:
        raise ValueError(f"unknown table(s) {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    now = now or clock.now()
    counts: dict[str, int] = {}
    for target in TARGETS:
        if only and target.name not in only:
            continue
        condition = target.condition(now)
        if condition is None:
            counts[target.name] = 0
        elif dry_run:
            counts[target.name] = target.model.objects.filter(condition).count()
        else:
            counts[target.name] = _delete(target, condition, batch_size, progress)
    if not dry_run:
        logger.info("cleanup deleted %s", counts)
    return counts


def _delete(
    target: Target,
    condition: Q,
    batch_size: int,
    progress: Callable[[str, int], None] | None,
) -> int:
    model = target.model
    alias = router.db_for_write(model)
    total = 0
    while True:
        with transaction.atomic(using=alias):
            # The condition is checked again by the DELETE: a row that came back to life
            # between the two statements (a budget counting a new failure) stays.
            pks = list(
                model.objects.using(alias)
                .filter(condition)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not pks:
                return total
            # Only webhook deliveries have dependants (their attempts, deleted with them).
            _, per_model = model.objects.using(alias).filter(condition, pk__in=pks).delete()
            deleted = per_model.get(model._meta.label, 0)
        total += deleted
        if progress is not None:
            progress(target.name, total)
        if len(pks) < batch_size:
            return total
