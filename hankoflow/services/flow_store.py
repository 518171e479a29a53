"""The engine's ``FlowStore`` on Django's ORM.

A step runs in one transaction with the flow row locked by ``SELECT ... FOR UPDATE``, so a second
request on the same flow waits, then finds a rotated CSRF token and gets the documented 403
(flow-api.md §1.9; Hanko answers a busy lock with 500 instead). The version check on save keeps
databases without row locks (SQLite) just as safe: the loser's update matches no row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.db.models import Subquery

from hankoflow import names
from hankoflow.engine import FlowRecord, StaleFlowError, Stash
from hankoflow.models import Account, Flow

MAX_HISTORY = 100  # steps kept per flow for inspection; a flow rarely takes more than 20


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
        if rows.update(**_columns(record), user=_user_of(record.stash)) != 1:
            raise StaleFlowError(record.id)


def _columns(record: FlowRecord) -> dict[str, Any]:
    """The columns a step changes."""
    return {
        "state": record.stash.state,
        "stash": record.stash.to_dict(),
        "csrf_token_hash": record.csrf_token_hash,
        "version": record.version,
        "language": record.facts.get("language", ""),
        "history": record.history[-MAX_HISTORY:],
    }


def _user_of(stash: Stash) -> Subquery:
    """The Django user behind the stash's account id, looked up inside the same UPDATE.

    Registration stashes an id before the account exists, so the user appears at success. The
    UPDATE has one shape whatever the stash holds (no id, Hanko's nil id, an unknown one): the SQL
    a step runs must not tell a registered address from a new one (security-checks).
    """
    try:
        account_id = uuid.UUID(str(stash.get(names.STASH_USER_ID) or names.NIL_USER_ID))
    except ValueError:
        account_id = uuid.UUID(names.NIL_USER_ID)
    return Subquery(Account.objects.filter(id=account_id).values("user_id")[:1])


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
