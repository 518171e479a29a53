"""A start that changes nothing is stored at the first action (``engine.unstored_start``).

With ``start_keys`` the engine hands out a UUIDv7 flow id and a start token (a MAC of the flow's
name and id) instead of storing the flow; the first action presents them and the store writes
the rebuilt record with that step. Everything else answers as for a stored flow.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from hankoflow import errors
from hankoflow.engine import FlowEngine, StaleFlowError, hash_token, unstored_start
from tests.engine.fakes import T0, TEST_FLOW, TTL, Harness

KEY, OLD_KEY, OTHER_KEY = b"k" * 32, b"o" * 32, b"x" * 32


@pytest.fixture
def harness() -> Harness:
    h = Harness()
    h.engine = FlowEngine(
        TEST_FLOW, h.store, ttl_seconds=TTL, now=h.clock, start_keys=(KEY, OLD_KEY)
    )
    return h


def test_a_start_that_changes_nothing_is_not_stored(harness):
    result = harness.start()
    assert result.state == "start" and result.payload == {"greeting": "hello"}
    assert harness.store.records == {}
    assert uuid.UUID(result.flow_id).version == 7
    assert unstored_start.started_at(result.flow_id) == T0
    assert len(result.csrf_token) == 32 and result.csrf_token.isalnum()


def test_the_first_action_stores_the_flow_as_the_start_would_have(harness):
    harness.start()
    harness.clock.advance(seconds=5)
    result = harness.act("go")
    assert (result.status, result.state) == (200, "second")
    record = harness.record
    assert (record.version, record.stash.state, record.expires_at) == (
        1,
        "second",
        T0 + timedelta(seconds=TTL),
    )
    assert record.history[0]["at"] == T0.isoformat() and record.history[0]["action"] is None
    assert record.history[1]["action"] == "go"
    assert record.csrf_token_hash == hash_token(harness.token)
    assert harness.act("go").state == "third"  # and it goes on as any flow


def test_a_start_token_works_once(harness):
    harness.start()
    start_token = harness.token
    assert harness.act("go").status == 200
    again = harness.act("go", token=start_token)
    assert again.error == errors.OPERATION_NOT_PERMITTED and again.is_early_error
    assert harness.record.version == 1


def test_a_forged_or_foreign_token_is_an_unknown_flow(harness):
    flow_id = harness.start().flow_id
    for token in (
        "A" * 32,
        unstored_start.start_token(OTHER_KEY, TEST_FLOW.name, flow_id),
        unstored_start.start_token(KEY, "another_flow", flow_id),
        "",
        "5\x0c:䊊˙\x056TI&S",  # non-ASCII: compare_digest refuses such str (the fuzzer's find)
    ):
        result = harness.act("go", token=token)
        assert result.error == errors.OPERATION_NOT_PERMITTED, token
    assert harness.store.records == {}


def test_a_token_made_with_a_previous_key_still_works(harness):
    flow_id = harness.start().flow_id
    old = unstored_start.start_token(OLD_KEY, TEST_FLOW.name, flow_id)
    assert harness.act("go", token=old).status == 200


def test_an_expired_start_answers_flow_expired_and_stores_nothing(harness):
    harness.start()
    harness.clock.advance(seconds=TTL)
    result = harness.act("go")
    assert result.error == errors.FLOW_EXPIRED
    assert harness.store.records == {}


def test_a_flow_id_from_the_future_is_an_unknown_flow(harness):
    later = unstored_start.new_flow_id(T0 + unstored_start.CLOCK_SKEW + timedelta(seconds=1))
    token = unstored_start.start_token(KEY, TEST_FLOW.name, later)
    result = harness.act("go", token=token, flow_id=later)
    assert result.error == errors.OPERATION_NOT_PERMITTED


def test_a_refused_first_action_keeps_the_start_token_usable(harness):
    harness.start()
    refused = harness.act("form", {"email": "not an address"})
    assert refused.status == 400  # a validation error is a step: the flow is stored now
    assert harness.record.version == 1
    assert harness.act("go").status == 200  # with the token that answer carried


def test_a_start_whose_hooks_change_the_stash_is_stored_at_once(harness):
    def remember(ctx):
        ctx.stash.set("seen", True)

    harness.env.on_hook["BeforeStart"] = remember
    result = harness.start()
    assert harness.record.stash.get("seen") is True
    assert harness.record.csrf_token_hash == hash_token(result.csrf_token)


def test_without_start_keys_every_start_is_stored():
    h = Harness()
    h.start()
    assert h.record.version == 0


def test_a_rival_that_stored_the_flow_first_makes_the_step_stale(harness):
    harness.start()
    rival = harness.engine.unstored(harness.flow_id, harness.token)
    assert rival is not None
    rival.version += 1
    harness.store.save(rival)
    result = harness.act("go")
    assert result.error == errors.OPERATION_NOT_PERMITTED
    with pytest.raises(StaleFlowError):
        harness.store.save(harness.engine.unstored(harness.flow_id, harness.token))


def test_the_id_tells_the_start_to_the_millisecond():
    at = T0 + timedelta(milliseconds=1234)
    ids = {unstored_start.new_flow_id(at) for _ in range(100)}
    assert len(ids) == 100
    assert {unstored_start.started_at(i) for i in ids} == {at}
    assert unstored_start.started_at(str(uuid.uuid4())) is None
