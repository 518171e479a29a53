"""Steps that write nothing but the flow send no BEGIN or COMMIT (``services.lazy_transaction``).

On PostgreSQL the database flow store reads the flow before the step's ``atomic`` block and
saves a step that ran no statement with one statement after it; a step that writes saves inside
its transaction. What goes over the wire is read from libpq's own trace of the connection. A
rival that saves first makes the later save stale (403), whichever path saved it.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.db import connection, transaction
from django.test import Client

from bench.wire import sent_statements
from hankoflow.engine import StaleFlowError
from hankoflow.models import Flow
from hankoflow.services import flow_store, lazy_transaction
from hankoflow.services.flow_store import DjangoFlowStore
from tests.services.test_flow_store import make_record

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only", "no_write_guesses"),
]

PASSWORD = "correct horse battery"


@contextmanager
def wire() -> Iterator[list[str]]:
    """The statements libpq sends on Django's connection inside the block (``bench.wire``),
    e.g. ``BEGIN`` or the flow's ``UPDATE``."""
    with sent_statements(connection) as sent:
        assert sent is not None
        yield sent


def control(sent: list[str]) -> list[str]:
    return [s for s in sent if s in ("BEGIN", "COMMIT", "ROLLBACK")]


def post(client: Client, state: dict, action: str, inputs: dict) -> dict:
    body = {"input_data": inputs, "csrf_token": state["csrf_token"]}
    response = client.post(
        state["actions"][action]["href"], json.dumps(body), content_type="application/json"
    )
    return response.json()


def to_chooser(client: Client, email: str) -> dict:
    state = client.post("/login").json()
    state = post(client, state, "register_client_capabilities", {"webauthn_available": False})
    return post(client, state, "continue_with_login_identifier", {"email": email})


def test_steps_writing_only_the_flow_send_no_begin_or_commit(account_factory):
    account_factory("jane@example.com", password=PASSWORD)
    client = Client()
    state = client.post("/login").json()
    with wire() as capabilities:
        state = post(client, state, "register_client_capabilities", {"webauthn_available": False})
    with wire() as identifier:
        state = post(client, state, "continue_with_login_identifier", {"email": "jane@example.com"})
    with wire() as chooser:
        state = post(client, state, "continue_to_password_login", {})
    assert state["name"] == "login_password", state
    for sent, saved in ((capabilities, "INSERT"), (identifier, "UPDATE"), (chooser, "UPDATE")):
        assert control(sent) == [], sent  # the first action stores the flow (unstored_start)
        assert any(s.startswith(saved) and "hankoflow_flow" in s for s in sent), sent
    flow = Flow.objects.get(id=state["actions"]["password_login"]["href"].split("%40")[1])
    assert (flow.version, flow.state) == (3, "login_password")


def test_a_step_that_writes_saves_the_flow_inside_its_one_transaction(account_factory):
    account_factory("jane@example.com", password=PASSWORD)
    client = Client()
    state = post(client, to_chooser(client, "jane@example.com"), "continue_to_password_login", {})
    with wire() as sent:
        state = post(client, state, "password_login", {"password": PASSWORD})
    assert state["name"] == "success", state
    assert control(sent) == ["BEGIN", "COMMIT"], sent
    begin, commit = sent.index("BEGIN"), sent.index("COMMIT")
    # First of all, the row is locked at the version the step read; last, the flow is saved.
    assert "FOR UPDATE" in sent[begin + 1] and "hankoflow_flow" in sent[begin + 1], sent
    flow_updates = [i for i, s in enumerate(sent) if s.startswith('UPDATE "hankoflow_flow"')]
    assert flow_updates == [commit - 1], sent


def created() -> tuple[DjangoFlowStore, str]:
    store, record = DjangoFlowStore(), make_record()
    store.create(record)
    return store, record.id


def advance(store: DjangoFlowStore, flow_id: str, label: str) -> None:
    with store.locked(flow_id) as record:
        record.version += 1
        record.history.append({"action": label})
        store.save(record)


def start_rival(store: DjangoFlowStore, flow_id: str) -> Callable[[], None]:
    """A rival step waiting in another thread (its own connection); the returned call lets it
    save the flow and returns once it has."""
    go, done = threading.Event(), threading.Event()

    def rival() -> None:
        go.wait(10)
        try:
            advance(store, flow_id, "rival")
        finally:
            connection.close()
            done.set()

    thread = threading.Thread(target=rival)
    thread.start()

    def release() -> None:
        go.set()
        assert done.wait(10)
        thread.join(10)

    return release


def test_a_rival_saving_first_makes_the_deferred_save_stale():
    store, flow_id = created()
    rival_saves = start_rival(store, flow_id)
    with pytest.raises(StaleFlowError), store.locked(flow_id) as record:
        rival_saves()
        record.version += 1
        record.history.append({"action": "late"})
        store.save(record)  # deferred: the block sent nothing
    row = Flow.objects.get(id=flow_id)
    assert row.version == 1 and row.history[-1] == {"action": "rival"}


def test_a_rival_saving_first_stops_a_writing_step_at_its_first_statement(account_factory):
    store, flow_id = created()
    account = account_factory("jane@example.com")
    rival_saves = start_rival(store, flow_id)
    with pytest.raises(StaleFlowError), store.locked(flow_id):
        rival_saves()
        account.name = "written by the losing step"
        account.save(update_fields=["name"])  # its first statement: the lock stops it
        pytest.fail("the step went on after its flow had changed")
    account.refresh_from_db()
    assert account.name != "written by the losing step"
    assert Flow.objects.get(id=flow_id).version == 1


def test_a_failing_step_saves_nothing():
    store, flow_id = created()
    with pytest.raises(RuntimeError), store.locked(flow_id) as record:
        record.version += 1
        store.save(record)
        raise RuntimeError("the step failed after saving")
    assert Flow.objects.get(id=flow_id).version == 0


def test_work_waiting_for_the_commit_keeps_the_save_inside_the_transaction():
    store, flow_id = created()
    seen: list[int] = []

    def after_commit() -> None:
        seen.append(Flow.objects.get(id=flow_id).version)

    with store.locked(flow_id) as record:
        transaction.on_commit(after_commit)
        record.version += 1
        store.save(record)
    assert seen == [1]  # it ran after the flow's own save had committed


def test_an_unknown_flow_reads_as_none():
    with DjangoFlowStore().locked(str(uuid.uuid4())) as record:
        assert record is None


def test_inside_an_outer_transaction_the_store_locks_the_row():
    store, flow_id = created()
    with transaction.atomic():
        assert not lazy_transaction.begins_lazily(connection)
        with wire() as sent:
            advance(store, flow_id, "inside")
    assert any("FOR UPDATE" in s for s in sent), sent
    assert Flow.objects.get(id=flow_id).version == 1


def test_a_read_outside_the_transaction_does_not_begin_it():
    from psycopg import pq

    connection.ensure_connection()
    with transaction.atomic():
        with lazy_transaction.outside_transaction(connection), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        assert connection.connection.info.transaction_status == pq.TransactionStatus.IDLE
        with connection.cursor() as cursor:
            cursor.execute("SELECT 2")  # an ordinary statement begins it
        assert connection.connection.info.transaction_status == pq.TransactionStatus.INTRANS
        with lazy_transaction.outside_transaction(connection), connection.cursor() as cursor:
            cursor.execute("SELECT 3")  # once begun, the read joins it
        assert connection.connection.info.transaction_status == pq.TransactionStatus.INTRANS


def test_under_repeatable_read_everything_stays_in_the_transaction(monkeypatch):
    from psycopg import IsolationLevel, pq

    connection.ensure_connection()
    monkeypatch.setattr(
        connection.connection, "isolation_level", IsolationLevel.REPEATABLE_READ, raising=False
    )
    assert not lazy_transaction.begins_lazily(connection)
    with transaction.atomic():
        with lazy_transaction.outside_transaction(connection), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        assert connection.connection.info.transaction_status == pq.TransactionStatus.INTRANS


def test_an_action_that_wrote_is_read_with_a_lock_next_time(account_factory):
    account_factory("jane@example.com", password=PASSWORD)
    account_factory("joe@example.com", password=PASSWORD)
    for email, guessed in (("jane@example.com", False), ("joe@example.com", True)):
        client = Client()
        state = post(client, to_chooser(client, email), "continue_to_password_login", {})
        with wire() as sent:
            state = post(client, state, "password_login", {"password": PASSWORD})
        assert state["name"] == "success", state
        flow_reads = [s for s in sent if s.startswith('SELECT "name", "stash"')]
        if guessed:  # BEGIN, then the locking read: no unlocked read, no separate lock
            assert sent[0] == "BEGIN" and flow_reads == [sent[1]], sent
            assert "FOR UPDATE" in sent[1] and not any(s.startswith("SELECT 1 ") for s in sent)
        else:  # the first time: the unlocked read, then BEGIN and the lock
            assert flow_reads == [sent[0]] and sent[1] == "BEGIN", sent
            assert sent[2].startswith("SELECT 1 ") and "FOR UPDATE" in sent[2], sent
        assert flow_store._writes["password_login"] is True


def test_an_action_guessed_wrong_is_unlearned_after_one_step():
    store, flow_id = created()
    flow_store._writes["go"] = True
    with wire() as sent, store.locked(flow_id, "go") as record:
        record.version += 1
        store.save(record)
    assert control(sent) == ["BEGIN", "COMMIT"], sent  # the guess: a transaction
    assert flow_store._writes["go"] is False
    with wire() as sent, store.locked(flow_id, "go") as record:
        record.version += 1
        store.save(record)
    assert control(sent) == [], sent
    assert Flow.objects.get(id=flow_id).version == 2
