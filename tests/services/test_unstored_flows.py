"""Flows stored at their first action (``FLOW.STORE_AT_START`` False, the default).

``POST /login`` and ``POST /registration`` write nothing: the flow id (a UUIDv7) and the start
token are enough for the first action to rebuild the flow, which that action's step stores. A
start token works once; whoever stored the flow first wins, as with any stale token. The stores
hold to that in every way they save (the database's unlocked and locked paths, Redis).
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client, override_settings

from hankoflow import clock
from hankoflow.engine import StaleFlowError, unstored_start
from hankoflow.http import runner
from hankoflow.models import Flow
from hankoflow.services.flow_store import DjangoFlowStore
from tests.concurrency import run_concurrently
from tests.services.test_flow_store_redis import needs_redis, redis_flows  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_write_guesses")]

CAPABILITIES = {"webauthn_available": False}


def start(client: Client, flow: str = "login") -> dict:
    return client.post(f"/{flow}").json()


def act(client: Client, state: dict, action: str, inputs: dict, token: str | None = None):
    body = {"input_data": inputs, "csrf_token": state["csrf_token"] if token is None else token}
    return client.post(
        state["actions"][action]["href"], json.dumps(body), content_type="application/json"
    )


def flow_id_of(state: dict) -> str:
    return next(iter(state["actions"].values()))["href"].split("%40")[1]


@pytest.mark.parametrize("flow", ["login", "registration"])
def test_a_start_writes_nothing_and_the_first_action_stores_the_flow(flow):
    client = Client()
    state = start(client, flow)
    assert state["name"] == "preflight"
    flow_id = flow_id_of(state)
    assert not Flow.objects.filter(id=flow_id).exists()
    answer = act(client, state, "register_client_capabilities", CAPABILITIES)
    assert answer.status_code == 200, answer.json()
    row = Flow.objects.get(id=flow_id)
    assert (row.name, row.version, row.state) == (flow, 1, answer.json()["name"])
    started = unstored_start.started_at(flow_id)
    assert row.created_at == started  # the flow dates from its start, not its first action
    assert row.history[0]["at"] == started.isoformat() and row.history[0]["action"] is None
    assert row.history[1]["action"] == "register_client_capabilities"


def test_a_start_whose_hooks_change_the_flow_is_stored_at_once(signed_in_client):
    """The profile flow's start binds it to the session's account: stored when it starts."""
    client = signed_in_client()
    state = start(client, "profile")
    row = Flow.objects.get(id=flow_id_of(state))
    assert (row.name, row.version, row.user_id) == ("profile", 0, client.account.user_id)


def test_a_start_token_works_once():
    client = Client()
    state = start(client)
    assert act(client, state, "register_client_capabilities", CAPABILITIES).status_code == 200
    again = act(client, state, "register_client_capabilities", CAPABILITIES)
    assert again.status_code == 403
    assert again.json()["error"]["code"] == "operation_not_permitted_error"
    assert Flow.objects.get(id=flow_id_of(state)).version == 1


def test_a_forged_start_token_is_refused_and_stores_nothing():
    client = Client()
    state = start(client)
    forged = unstored_start.start_token(b"\0" * 32, "login", flow_id_of(state))
    answer = act(client, state, "register_client_capabilities", CAPABILITIES, token=forged)
    assert answer.status_code == 403
    assert not Flow.objects.filter(id=flow_id_of(state)).exists()


def test_a_login_start_token_does_not_start_a_registration():
    client = Client()
    state = start(client)
    href = state["actions"]["register_client_capabilities"]["href"].replace(
        "/login", "/registration"
    )
    body = {"input_data": CAPABILITIES, "csrf_token": state["csrf_token"]}
    answer = client.post(href, json.dumps(body), content_type="application/json")
    assert answer.status_code == 403
    assert not Flow.objects.exists()


def test_a_rotated_secret_key_keeps_the_flows_started_under_the_old_one():
    client = Client()
    state = start(client)
    with override_settings(
        SECRET_KEY="a new secret key " * 4, SECRET_KEY_FALLBACKS=[django_settings.SECRET_KEY]
    ):
        answer = act(client, state, "register_client_capabilities", CAPABILITIES)
    assert answer.status_code == 200


def test_store_at_start_stores_every_flow_when_it_starts():
    hankoflow = {**django_settings.HANKOFLOW, "FLOW": {"STORE_AT_START": True}}
    with override_settings(HANKOFLOW=hankoflow):
        client = Client()
        state = start(client)
        row = Flow.objects.get(id=flow_id_of(state))
        assert (row.version, row.state) == (0, "preflight")
        assert act(client, state, "register_client_capabilities", CAPABILITIES).status_code == 200
    assert Flow.objects.get(id=row.id).version == 1


def test_the_flow_execution_api_continues_a_flow_it_did_not_store_yet():
    client = Client()
    answer = client.post(
        "/flow/execute", json.dumps({"flowType": "REGISTRATION"}), content_type="application/json"
    ).json()
    flow_id = answer["flowId"].split(".")[0]
    assert not Flow.objects.filter(id=flow_id).exists()
    step = client.post(
        "/flow/execute", json.dumps({"flowId": answer["flowId"]}), content_type="application/json"
    )
    assert step.status_code == 200, step.json()
    assert Flow.objects.get(id=flow_id).version == 1


# --- the stores ----------------------------------------------------------------------------------


def new_record(flow_name: str = "login"):
    """What the engine rebuilds at a first action, with its start token."""
    flow_id = unstored_start.new_flow_id(clock.now())
    token = unstored_start.start_token(runner_key(), flow_name, flow_id)
    record = runner.engine_for(flow_name).unstored(flow_id, token)
    assert record is not None and not record.stored
    return record


def runner_key() -> bytes:
    from hankoflow.services import crypto

    return crypto.mac_keys(runner.START_TOKEN_PURPOSE)[0]


def first_step(store, record) -> None:
    with store.locked(record.id, "go", new=record) as locked:
        locked.version += 1
        locked.history.append({"action": "go"})
        store.save(locked)


@pytest.fixture(params=["database", pytest.param("redis", marks=needs_redis)])
def store(request):
    if request.param == "database":
        return DjangoFlowStore()
    request.getfixturevalue("redis_flows")
    from hankoflow.services.flow_store_redis import RedisFlowStore

    return RedisFlowStore("flows")


def test_a_store_stores_a_new_flow_with_its_first_step(store):
    record = new_record()
    first_step(store, record)
    stored = store.peek(record.id)
    assert stored is not None and stored.version == 1
    assert stored.history[-1] == {"action": "go"}
    with pytest.raises(StaleFlowError):
        first_step(store, _again(record))


def _again(record):
    """The same first action again, as a replayed request would rebuild it."""
    again = runner.engine_for(record.flow_name).unstored(
        record.id, unstored_start.start_token(runner_key(), record.flow_name, record.id)
    )
    assert again is not None
    return again


@pytest.mark.slow
@pytest.mark.usefixtures("postgres_only")
def test_of_simultaneous_first_actions_exactly_one_stores_the_flow():
    client = Client()
    state = start(client)

    def first_action():
        return act(Client(), state, "register_client_capabilities", CAPABILITIES).status_code

    statuses = run_concurrently([first_action] * 10, atomic=False)
    assert sorted(statuses) == [200] + [403] * 9
    assert Flow.objects.get(id=flow_id_of(state)).version == 1


@pytest.mark.slow
@pytest.mark.usefixtures("postgres_only")
def test_a_first_action_that_runs_statements_stores_the_flow_before_them(account_factory):
    """The unlocked path's lock for a new flow is its INSERT, sent before the step's first
    statement: a rival first action waits on the id, then is refused before it does anything."""
    from bench.wire import sent_statements

    account = account_factory("jane@example.com")
    store, record = DjangoFlowStore(), new_record()
    with sent_statements(connection) as sent, store.locked(record.id, "go", new=record) as new:
        account.name = "written by the first action"
        account.save(update_fields=["name"])
        new.version += 1
        store.save(new)
    assert sent is not None
    begin = sent.index("BEGIN")
    assert sent[begin + 1].startswith('INSERT INTO "hankoflow_flow"'), sent
    assert sent[begin + 2].startswith('UPDATE "hankoflow_account"'), sent
    assert Flow.objects.get(id=record.id).version == 1

    rival = _again(record)
    with pytest.raises(StaleFlowError), store.locked(rival.id, "go", new=rival):
        account.name = "written by the rival"
        account.save(update_fields=["name"])
        pytest.fail("the rival went on")
    account.refresh_from_db()
    assert account.name == "written by the first action"


@pytest.mark.slow
@pytest.mark.usefixtures("postgres_only")
def test_the_capabilities_step_of_a_new_flow_is_one_insert_and_no_transaction():
    from bench.wire import sent_statements

    client = Client()
    state = start(client)
    with sent_statements(connection) as sent:
        answer = act(client, state, "register_client_capabilities", CAPABILITIES)
    assert answer.status_code == 200
    assert sent is not None
    flow_statements = [s for s in sent if "hankoflow_flow" in s]
    assert len(flow_statements) == 1 and flow_statements[0].startswith("INSERT"), sent
    assert not [s for s in sent if s in ("BEGIN", "COMMIT")], sent


def test_an_id_that_is_not_a_uuid7_is_never_rebuilt():
    flow_id = str(uuid.uuid4())
    token = unstored_start.start_token(runner_key(), "login", flow_id)
    assert runner.engine_for("login").unstored(flow_id, token) is None
