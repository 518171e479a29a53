"""The Redis flow store (``hankoflow.services.flow_store_redis``) against the real Redis.

First the store contract the engine relies on, run against both stores (the database one runs
everywhere, the Redis one with the services): a record reads back as written, an unknown id is
None, a stale save is refused and changes nothing, a step that fails after its save leaves the
flow and the database as they were, an expired flow still loads. Then what only the Redis store
does: a claim per step (a second step is refused, the claim is released on every exit), the key's
lifetime, a whole login through the Flow API with no flow SQL, and two simultaneous steps on
PostgreSQL, of which exactly one moves the flow.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from hankoflow import clock as hankoflow_clock
from hankoflow.engine import FlowRecord, HistoryItem, StaleFlowError, Stash
from hankoflow.models import Account, Flow, Session
from hankoflow.services import accounts, flow_inspection
from hankoflow.services.flow_store import DjangoFlowStore
from hankoflow.services.flow_store_redis import (
    _CREATE,
    _LOCK,
    _SAVE,
    CLAIM_SECONDS,
    EXPIRED_GRACE_SECONDS,
    MAX_HISTORY,
    RedisFlowStore,
    _claim_key,
    _key,
)
from hankoflow.testing.client import FlowClient
from tests.concurrency import run_concurrently

SERVICES = os.environ.get("HANKOFLOW_TEST_SERVICES") == "1"
needs_redis = [
    pytest.mark.slow,
    pytest.mark.skipif(not SERVICES, reason="needs Redis: run bin/test (or bin/services env)"),
]
EMAIL = "redis-store@example.com"
PASSWORD = "a long password 123"


@pytest.fixture
def redis_flows():
    """Flows in the Redis of CACHE_URL (REDIS_URL), under the cache alias "flows"."""
    url = os.environ.get("CACHE_URL") or os.environ["REDIS_URL"]
    caches_setting = {
        **django_settings.CACHES,
        "flows": {"BACKEND": "hankoflow.cache.RedisCache", "LOCATION": url},
    }
    hankoflow = {**django_settings.HANKOFLOW, "FLOW_STORE": "redis", "FLOW_STORE_CACHE": "flows"}
    with override_settings(CACHES=caches_setting, HANKOFLOW=hankoflow):
        caches["flows"].clear()
        yield caches["flows"]
        caches["flows"].clear()


@pytest.fixture(params=["database", pytest.param("redis", marks=needs_redis)])
def store(request, db):
    if request.param == "database":
        return DjangoFlowStore()
    request.getfixturevalue("redis_flows")
    return RedisFlowStore("flows")


def make_record(expires_in: timedelta = timedelta(hours=1)) -> FlowRecord:
    stash = Stash(
        state="login_method_chooser",
        prev_state="login_init",
        scheduled=["success"],
        data={"nested": {"list": [1, 2.5, None, True], "text": 'Grüße "quoted" \\ ✓'}},
        history=[HistoryItem("login_init", "preflight", ["success"], {"sticky.x": "y"}, True)],
    )
    return FlowRecord(
        id=str(uuid.uuid4()),
        flow_name="login",
        stash=stash,
        csrf_token_hash="a" * 64,
        expires_at=hankoflow_clock.now() + expires_in,
        facts={"language": "de-DE"},
        history=[{"at": "2040-01-01T00:00:00+00:00", "action": None, "to": "preflight"}],
    )


def created(store, **kwargs) -> FlowRecord:
    record = make_record(**kwargs)
    store.create(record)
    return record


def step(store, flow_id: str, **changes) -> FlowRecord:
    with store.locked(flow_id) as record:
        for key, value in changes.items():
            record.stash.set(key, value)
        record.version += 1
        record.history.append({"action": "go", "to": record.stash.state})
        store.save(record)
    return record


# --- the contract, both stores -------------------------------------------------------------------


def test_a_record_reads_back_as_written(store):
    record = created(store)
    with store.locked(record.id) as loaded:
        assert loaded == record
    assert store.peek(record.id) == record
    after = step(store, record.id, token="x")
    assert store.peek(record.id) == after and after.version == 1


def test_an_unknown_flow_loads_as_none(store):
    flow_id = str(uuid.uuid4())
    with store.locked(flow_id) as loaded:
        assert loaded is None
    assert store.peek(flow_id) is None


def test_saving_an_outdated_version_is_refused_and_changes_nothing(store):
    record = created(store)
    stale = store.peek(record.id)
    step(store, record.id, winner=True)
    with store.locked(record.id):
        stale.version += 1  # the loser also thinks it moves version 0 to 1
        stale.stash.set("loser", True)
        with pytest.raises(StaleFlowError):
            store.save(stale)
    stored = store.peek(record.id)
    assert stored.version == 1 and stored.stash.get("winner") is True
    assert stored.stash.get("loser") is None


def test_a_step_failing_after_its_save_leaves_the_flow_and_the_database_as_they_were(store):
    record = created(store)
    with pytest.raises(RuntimeError), store.locked(record.id) as loaded:
        accounts.create(  # the step's database work
            uuid.uuid4(), email=EMAIL, email_verified=True, username=None, password_hash=None
        )
        loaded.version += 1
        loaded.stash.set("advanced", True)
        store.save(loaded)
        raise RuntimeError("the commit failed")
    assert store.peek(record.id) == record
    assert not Account.objects.exists()
    assert step(store, record.id).version == 1  # and the next step goes ahead


def test_an_expired_flow_still_loads_for_the_engine_to_answer_flow_expired(store, clock):
    record = created(store, expires_in=timedelta(minutes=5))
    clock.advance(minutes=10)
    with store.locked(record.id) as loaded:
        assert loaded is not None and loaded.expires_at < hankoflow_clock.now()


def test_the_history_is_bounded(store):
    record = created(store)
    with store.locked(record.id) as loaded:
        loaded.history = [{"action": str(n)} for n in range(MAX_HISTORY + 5)]
        loaded.version += 1
        store.save(loaded)
    history = store.peek(record.id).history
    assert len(history) == MAX_HISTORY and history[-1] == {"action": str(MAX_HISTORY + 4)}


# --- the Redis store's claim and lifetime --------------------------------------------------------


@pytest.fixture
def redis_store(redis_flows, db) -> RedisFlowStore:
    return RedisFlowStore("flows")


def client_of(cache):
    return cache._cache.get_client(write=True)


@pytest.mark.slow
@pytest.mark.skipif(not SERVICES, reason="needs Redis")
class TestRedisOnly:
    def test_a_second_step_is_refused_while_the_first_holds_the_claim(self, redis_store):
        record = created(redis_store)
        other = RedisFlowStore("flows")
        with redis_store.locked(record.id), pytest.raises(StaleFlowError):
            other.locked(record.id).__enter__()
        assert step(redis_store, record.id).version == 1  # released when the first one left

    def test_the_claim_is_released_on_every_exit(self, redis_store, redis_flows):
        record = created(redis_store)
        claim = _claim_key(redis_flows, record.id)
        raw = client_of(redis_flows)
        with redis_store.locked(record.id):
            assert 0 < raw.pttl(claim) <= CLAIM_SECONDS * 1000
        assert not raw.exists(claim)  # left without saving (an early error)
        with pytest.raises(ValueError), redis_store.locked(record.id):
            raise ValueError("the action failed")
        assert not raw.exists(claim)
        step(redis_store, record.id)
        assert raw.get(claim).startswith(b"done:")  # given up by the save: free for the next
        assert step(redis_store, record.id).version == 2

    def test_a_script_run_twice_for_one_call_is_recognised(self, redis_store, redis_flows):
        """The client may resend a command whose answer was lost; a claim, save or create that
        went through the first time must not be refused the second time."""
        record = created(redis_store)
        keys = [_key(redis_flows, record.id), _claim_key(redis_flows, record.id)]
        raw = client_of(redis_flows)
        first = _LOCK(keys=keys, args=("t1", 30_000), client=raw)
        assert _LOCK(keys=keys, args=("t1", 30_000), client=raw) == first
        assert _LOCK(keys=keys, args=("t2", 30_000), client=raw) == 0  # another step: refused
        save = ("t1", 0, 1, first[1], 60_000)
        assert _SAVE(keys=keys, args=save, client=raw) == 1
        assert _SAVE(keys=keys, args=save, client=raw) == 1
        assert redis_store.peek(record.id).version == 1
        data = json.dumps({"any": "value"})
        again = [_key(redis_flows, "new")]
        assert _CREATE(keys=again, args=(data, 60_000), client=raw) == 1
        assert _CREATE(keys=again, args=(data, 60_000), client=raw) == 1
        assert _CREATE(keys=again, args=("other", 60_000), client=raw) == 0

    def test_a_step_whose_claim_ran_out_and_was_taken_is_stale(self, redis_store, redis_flows):
        record = created(redis_store)
        with redis_store.locked(record.id) as loaded:
            client_of(redis_flows).set(_claim_key(redis_flows, record.id), "someone else")
            loaded.version += 1
            with pytest.raises(StaleFlowError):
                redis_store.save(loaded)
        assert redis_store.peek(record.id).version == 0

    def test_the_key_lives_until_the_expiry_plus_the_grace_period(self, redis_store, redis_flows):
        record = created(redis_store, expires_in=timedelta(minutes=10))
        ttl = client_of(redis_flows).pttl(_key(redis_flows, record.id))
        full = (10 * 60 + EXPIRED_GRACE_SECONDS) * 1000
        assert full - 60_000 < ttl <= full
        step(redis_store, record.id)
        assert full - 60_000 < client_of(redis_flows).pttl(_key(redis_flows, record.id)) <= full

    def test_keys_carry_the_caches_prefix(self, redis_flows):
        assert _key(redis_flows, "f") == redis_flows.make_key("hankoflow:flow:f")

    # --- through the Flow API --------------------------------------------------------------------

    def test_a_password_login_through_the_flow_api_keeps_no_flow_in_the_database(
        self, redis_store, account_factory
    ):
        account_factory(EMAIL, password=PASSWORD)
        flows = FlowClient()
        start = flows.start("login")
        with CaptureQueriesContext(connection) as light:
            init = flows.act(start, "register_client_capabilities", {"webauthn_available": False})
        assert init.state == "login_init"
        # A step that writes nothing sends no SQL at all (psycopg begins lazily).
        assert [q["sql"] for q in light.captured_queries if not _savepoint(q["sql"])] == []
        chooser = flows.act(init, "continue_with_login_identifier", {"email": EMAIL})
        password = flows.act(chooser, "continue_to_password_login")
        wrong = flows.act(password, "password_login", {"password": "not it"})
        assert wrong.status == 400
        done = flows.act(wrong, "password_login", {"password": PASSWORD})
        assert done.state == "success" and done.body["payload"]["claims"]["amr"] == ["pwd"]
        assert not Flow.objects.exists()
        stored = redis_store.peek(flow_id_of(start))
        assert stored.stash.state == "success" and stored.version == 5
        assert [item["action"] for item in stored.history][-2:] == ["password_login"] * 2

    def test_an_old_token_is_refused_and_the_claim_is_released(self, redis_store, redis_flows):
        flows = FlowClient()
        start = flows.start("login")
        flow_id = start.action_param("register_client_capabilities").split("@")[1]
        refused = flows.act(start, "register_client_capabilities", {}, csrf_token="b" * 32)
        assert refused.status == 403 and refused.error_code == "operation_not_permitted_error"
        assert not client_of(redis_flows).exists(_claim_key(redis_flows, flow_id))
        assert flows.act(start, "register_client_capabilities", {}).state == "login_init"

    def test_a_step_while_another_holds_the_flow_is_refused_and_changes_nothing(
        self, redis_store, redis_flows
    ):
        flows = FlowClient()
        start = flows.start("login")
        flow_id = start.action_param("register_client_capabilities").split("@")[1]
        client_of(redis_flows).set(_claim_key(redis_flows, flow_id), "busy", px=30_000)
        refused = flows.act(start, "register_client_capabilities", {})
        assert refused.status == 403 and refused.error_code == "operation_not_permitted_error"
        assert redis_store.peek(flow_id).version == 0

    def test_a_step_whose_commit_fails_leaves_the_flow_so_the_same_token_works_again(
        self, redis_store, account_factory
    ):
        account_factory(EMAIL, password=PASSWORD)
        flows = FlowClient()
        init = flows.act(flows.start("login"), "register_client_capabilities", {})
        chooser = flows.act(init, "continue_with_login_identifier", {"email": EMAIL})
        password = flows.act(chooser, "continue_to_password_login")
        save = RedisFlowStore.save

        def save_then_fail(self, record):
            save(self, record)
            raise RuntimeError("the database commit failed")

        with mock.patch.object(RedisFlowStore, "save", save_then_fail):
            failed = flows.act(password, "password_login", {"password": PASSWORD})
        assert failed.status == 500 and failed.error_code == "technical_error"
        assert not sessions()
        done = flows.act(password, "password_login", {"password": PASSWORD})
        assert done.state == "success"

    def test_inspection_reads_one_flow_from_redis(self, redis_store, account_factory):
        flows = FlowClient()
        start = flows.start("login")
        flow_id = start.action_param("register_client_capabilities").split("@")[1]
        flows.act(start, "register_client_capabilities", {})
        shown = flow_inspection.stored(flow_id)
        assert shown.state == "login_init" and shown.created_at is not None
        assert [step.action for step in flow_inspection.timeline(shown)] == [
            "(start)",
            "register_client_capabilities",
        ]

    def test_a_sign_up_through_the_flow_execution_api(
        self, redis_store, passcode_outbox, soft_authenticator
    ):
        """The Flow Execution API reads the flow (peek) before each step: from Redis here."""
        from tests.flow_execution.conftest import ExecutionClient
        from tests.flow_execution.test_same_journey import through_flow_execution

        made = through_flow_execution(
            ExecutionClient(), passcode_outbox, "new.user@example.com", soft_authenticator
        )
        assert Account.objects.filter(id=made).exists() and not Flow.objects.exists()
        stale = ExecutionClient().post({"flowId": f"{uuid.uuid4()}.{'a' * 32}"})
        assert (stale.status, stale.body["error"]["code"]) == (404, "invalid_flow_id")


def sessions() -> list[Session]:
    return list(Session.objects.all())


def flow_id_of(state) -> str:
    return next(iter(state.body["actions"].values()))["href"].rsplit("%40", 1)[-1]


def _savepoint(sql: str) -> bool:
    return sql.upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"))


# --- two steps at once, on PostgreSQL ------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not SERVICES, reason="needs Redis and PostgreSQL")
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("postgres_only")
def test_of_two_simultaneous_steps_exactly_one_moves_the_flow(redis_flows, account_factory):
    account_factory(EMAIL, password=PASSWORD)
    flows = FlowClient()
    init = flows.act(flows.start("login"), "register_client_capabilities", {})
    chooser = flows.act(init, "continue_with_login_identifier", {"email": EMAIL})
    password = flows.act(chooser, "continue_to_password_login")
    flow_id = password.action_param("password_login").split("@")[1]
    href = password.href("password_login")
    body = {"input_data": {"password": PASSWORD}, "csrf_token": password.csrf_token}

    def attempt():
        return Client().post(href, body, content_type="application/json").status_code

    statuses = run_concurrently([attempt, attempt], atomic=False)
    assert sorted(statuses) == [200, 403]  # the loser found the claim held or the token rotated
    stored = RedisFlowStore("flows").peek(flow_id)
    assert stored.version == 4 and stored.stash.state == "success"
    assert len(sessions()) == 1
