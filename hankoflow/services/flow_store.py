"""The engine's ``FlowStore`` on Django's ORM.

A step runs in one transaction with the flow row locked by ``SELECT ... FOR UPDATE``, so a second
request on the same flow waits, then finds a rotated CSRF token and gets the documented 403
(flow-api.md §1.9; Hanko answers a busy lock with 500 instead). The version check on save keeps
databases without row locks (SQLite) just as safe: the loser's update matches no row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction

from hankoflow.engine import FlowRecord, StaleFlowError, Stash
from hankoflow.models import Flow

MAX_HISTORY = 200  # steps kept per flow for inspection


class DjangoFlowStore:
    """Stores flows in ``hankoflow_flow``."""

    def create(self, record: FlowRecord) -> None:
        Flow.objects.create(
            id=record.id, name=record.flow_name, expires_at=record.expires_at, **_columns(record)
        )

    @contextmanager
    def locked(self, flow_id: str) -> Iterator[FlowRecord | None]:
        with transaction.atomic():
            row = Flow.objects.select_for_update().filter(id=flow_id).first()
            yield _to_record(row) if row else None

    def save(self, record: FlowRecord) -> None:
        rows = Flow.objects.filter(id=record.id, version=record.version - 1)
        if rows.update(**_columns(record)) != 1:
            raise StaleFlowError(record.id)


def _columns(record: FlowRecord) -> dict:
    """The columns a step changes."""
    return {
        "state": record.stash.state,
        "stash": record.stash.to_dict(),
        "csrf_token_hash": record.csrf_token_hash,
        "version": record.version,
        "language": record.facts.get("language", ""),
        "history": record.history[-MAX_HISTORY:],
    }


def _to_record(row: Flow) -> FlowRecord:
    return FlowRecord(
        id=str(row.id),
        flow_name=row.name,
        stash=Stash.from_dict(row.stash),
        csrf_token_hash=row.csrf_token_hash,
        expires_at=row.expires_at,
        version=row.version,
        facts={"language": row.language},
        history=list(row.history),
    )
