"""What the email outbox and the webhook outbox share: claiming one pending row for a delivery
attempt. Both keep a row per message with ``status`` and ``next_attempt_at``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import models

Row = TypeVar("Row", bound=models.Model)

# A retry scheduled this close to now counts as due (the task may run a moment early).
DUE_SLACK = timedelta(seconds=1)


def claim_due(
    model: type[Row],
    pk: Any,
    *,
    alias: str,
    pending: str,
    now: datetime,
    annotate: dict[str, Any] | None = None,
) -> Row | None:
    """The pending row ``pk``, locked for this transaction, when its attempt is due; None when
    it is gone, no longer pending, held by another process or waiting for its retry. Call it
    inside ``transaction.atomic(using=alias)``. ``annotate``: expressions read in the same
    statement (subqueries: only the row itself is locked)."""
    rows = (
        model.objects.using(alias)  # type: ignore[attr-defined]
        .select_for_update(skip_locked=True)
        .filter(pk=pk, status=pending)
    )
    row = (rows.annotate(**annotate) if annotate else rows).first()
    if row is None or (row.next_attempt_at and row.next_attempt_at > now + DUE_SLACK):
        return None
    return row
