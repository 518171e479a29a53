"""The Django flow store (``hankoflow.services.flow_store``) against the real database.

What the engine and the flow inspection rely on: a record reads back as it was written, a stale
version is refused with ``StaleFlowError`` and leaves the row alone, the row's ``user`` follows
the stash's account id, and a step is one locking SELECT and one UPDATE whose shape does not
depend on whether the account exists (security-checks PC-08). Runs on SQLite by default and on
PostgreSQL with ``DATABASE_URL`` set.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hankoflow import names
from hankoflow.engine import FlowRecord, HistoryItem, StaleFlowError, Stash
from hankoflow.models import Flow
from hankoflow.services import accounts, flow_store
from hankoflow.services.flow_store import MAX_HISTORY, DjangoFlowStore

pytestmark = pytest.mark.django_db

EXPIRES = datetime(2040, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def make_record(**stash_data) -> FlowRecord:
    stash = Stash(
        state="login_method_chooser",
        prev_state="login_init",
        scheduled=["success"],
        data={"nested": {"list": [1, 2.5, None, True], "text": 'Grüße "quoted" \\ ✓'}},
        history=[
            HistoryItem(
                state="login_init",
                prev_state="preflight",
                scheduled=["success"],
                data={"sticky.x": "y"},
                revertible=True,
            )
        ],
    )
    stash.data.update(stash_data)
    return FlowRecord(
        id=str(uuid.uuid4()),
        flow_name="login",
        stash=stash,
        csrf_token_hash="a" * 64,
        expires_at=EXPIRES,
        facts={"language": "de-DE"},
        history=[{"at": "2040-01-01T00:00:00+00:00", "action": None, "to": "preflight"}],
    )


def created(**stash_data) -> tuple[DjangoFlowStore, FlowRecord]:
    store = DjangoFlowStore()
    record = make_record(**stash_data)
    store.create(record)
    return store, record


def step(store: DjangoFlowStore, flow_id: str, **changes) -> FlowRecord:
    """Load, change and save one record as the engine does."""
    with store.locked(flow_id) as record:
        for key, value in changes.items():
            record.stash.set(key, value)
        record.version += 1
        record.history.append({"action": "go", "to": record.stash.state})
        store.save(record)
    return record


def test_a_record_reads_back_as_written():
    store, record = created()
    with store.locked(record.id) as loaded:
        assert loaded == record
        assert loaded.expires_at.tzinfo is not None


def test_an_unknown_flow_loads_as_none():
    with DjangoFlowStore().locked(str(uuid.uuid4())) as loaded:
        assert loaded is None


def test_the_orm_reads_what_the_store_writes():
    """Flow inspection, the funnel and the Flow Execution API read the row through the ORM."""
    store, record = created()
    row = Flow.objects.get(id=record.id)
    assert (row.name, row.state, row.language) == ("login", record.stash.state, "de-DE")
    assert row.stash == record.stash.to_dict()
    assert row.history == record.history
    assert row.expires_at == EXPIRES
    assert row.version == 0 and row.user is None

    after = step(store, record.id, token="x")
    row.refresh_from_db()
    assert row.version == 1 and row.stash == after.stash.to_dict() and row.history == after.history


def test_saving_an_outdated_version_raises_stale_and_keeps_the_row():
    store, record = created()
    with store.locked(record.id) as first:
        pass
    step(store, record.id, winner=True)
    first.version += 1  # the loser also thinks it moves version 0 to 1
    first.stash.set("loser", True)
    with pytest.raises(StaleFlowError):
        store.save(first)
    row = Flow.objects.get(id=record.id)
    assert row.version == 1 and row.stash["data"]["winner"] is True
    assert "loser" not in row.stash["data"]


def test_a_failing_step_leaves_the_row_as_it_was():
    store, record = created()
    with pytest.raises(RuntimeError), store.locked(record.id) as loaded:
        loaded.version += 1
        loaded.stash.set("half", "written")
        store.save(loaded)
        raise RuntimeError("the step failed after saving")
    row = Flow.objects.get(id=record.id)
    assert row.version == 0 and "half" not in row.stash["data"]


def test_history_keeps_the_newest_steps():
    store, record = created()
    with store.locked(record.id) as loaded:
        loaded.history.extend({"n": n} for n in range(MAX_HISTORY + 5))
        loaded.version += 1
        store.save(loaded)
    history = Flow.objects.get(id=record.id).history
    assert len(history) == MAX_HISTORY and history[-1] == {"n": MAX_HISTORY + 4}


def test_updated_at_moves_with_each_step(monkeypatch):
    store, record = created()
    row = Flow.objects.get(id=record.id)
    later = row.created_at + timedelta(minutes=3)
    monkeypatch.setattr(timezone, "now", lambda: later)
    step(store, record.id)
    row.refresh_from_db()
    assert row.updated_at == later


@pytest.mark.parametrize(
    "account_id",
    ["known", None, names.NIL_USER_ID, "not a uuid", str(uuid.uuid4())],
    ids=["known", "none", "nil", "garbage", "unknown"],
)
def test_the_row_user_follows_the_stash_account(account_factory, account_id):
    account = account_factory("jane@example.com")
    store, record = created()
    stash_id = str(account.id) if account_id == "known" else account_id
    step(store, record.id, **{names.STASH_USER_ID: stash_id})
    row = Flow.objects.get(id=record.id)
    assert row.user_id == (account.user_id if account_id == "known" else None)


def test_the_user_appears_once_the_account_exists():
    """Registration stashes the new id before the account is created."""
    new_id = uuid.uuid4()
    store, record = created(**{names.STASH_USER_ID: str(new_id)})
    step(store, record.id)
    assert Flow.objects.get(id=record.id).user_id is None
    account = accounts.create(
        new_id, email="new@example.com", email_verified=True, username=None, password_hash=None
    )
    step(store, record.id)
    assert Flow.objects.get(id=record.id).user_id == account.user_id


_LITERAL = re.compile(r"'(?:[^']|'')*'|\b\d+\b|%s|\?")


def statements_of_a_step(store: DjangoFlowStore, flow_id: str, user_id: str | None) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        step(store, flow_id, **{names.STASH_USER_ID: user_id})
    return [
        _LITERAL.sub("?", query["sql"])
        for query in captured.captured_queries
        if not query["sql"].startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


def test_a_step_is_one_locking_select_and_one_update_of_one_shape(account_factory):
    account = account_factory("jane@example.com")
    store, record = created()
    shapes = {
        label: statements_of_a_step(store, record.id, user_id)
        for label, user_id in [
            ("known", str(account.id)),
            ("unknown", str(uuid.uuid4())),
            ("none", None),
            ("garbage", "0000"),
        ]
    }
    assert len({tuple(statements) for statements in shapes.values()}) == 1, shapes
    select, update = shapes["known"]
    assert select.startswith("SELECT") and update.startswith("UPDATE")
    assert ("FOR UPDATE" in select) == connection.features.has_select_for_update
    assert "hankoflow_account" in update  # the user is looked up inside the UPDATE


def test_statements_are_prepared_once_per_database():
    store, record = created()
    step(store, record.id)
    first = flow_store._statements(connection)
    step(store, record.id)
    assert flow_store._statements(connection) is first
