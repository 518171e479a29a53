"""FlowEngine: start (§1.7, §2.1), early errors (§1.8), continuation primitives (§2.6), hooks
(§2.7), back (§2.8), payload (§2.3) and input rendering (§2.4, §2.5.4).

The fake flow and the harness are described in ``fakes.py``; ``started`` is a flow in ``start``
with ``second, third`` scheduled, and every ``act`` clears ``env.log`` first.
"""

from __future__ import annotations

import re
import string
import uuid
from datetime import timedelta

import pytest

from hankoflow import errors
from hankoflow.engine import (
    MISSING,
    ActionRef,
    Continue,
    FlowEngine,
    HistoryItem,
    MemoryFlowStore,
    StaleFlowError,
    Stash,
    hash_token,
    new_csrf_token,
)

from .fakes import (
    T0,
    TTL,
    Harness,
    action_names,
    assert_early_error,
    boom,
    build_test_flow,
    inputs_of,
)

CSRF = re.compile(r"[0-9A-Za-z]{32}")
START_ITEM = HistoryItem(
    state="start", prev_state=None, scheduled=["second", "third"], data={}, revertible=True
)
CONTINUE_LOG = [
    "BeforeEachAction",
    "execute:go",
    "BeforeEachAction",
    "AfterStart",
    "AfterEachAction",
    "BeforeSecond",
]


def assert_refused(harness: Harness, before, result, error=errors.OPERATION_NOT_PERMITTED):
    """An early error that left the stored flow exactly as it was and ran no action."""
    assert_early_error(result, error)
    assert harness.record == before
    assert not [entry for entry in harness.env.log if entry.startswith("execute:")]


def event(harness: Harness, action, from_state, to_state, error=None, inputs=()) -> dict:
    """The step record the engine appends to ``FlowRecord.history``."""
    return {
        "at": harness.clock().isoformat(),
        "action": action,
        "from": from_state,
        "to": to_state,
        "inputs": list(inputs),
        "error": error,
        "ip": "",
        "user_agent": "",
    }


def record_hash_changed(harness: Harness, before) -> bool:
    """The step rotated the token: the stored digest is the new token's, not the old one's."""
    stored = harness.record.csrf_token_hash
    return stored != before.csrf_token_hash and stored == hash_token(harness.token)


# --- start --------------------------------------------------------------------------------------


def test_start_enters_the_first_initial_state_and_schedules_the_rest(harness):
    result = harness.start(facts={"lang": "de"})

    assert (result.flow_name, result.state, result.status, result.error) == (
        "test",
        "start",
        200,
        None,
    )
    assert not result.is_early_error
    assert result.payload == {"greeting": "hello"}  # filled by the before-state hook
    assert action_names(result) == ["go", "form", "profile", "extra"]  # no history: no back
    assert str(uuid.UUID(result.flow_id)) == result.flow_id
    assert uuid.UUID(result.flow_id).version == 7  # time-ordered: it tells when the flow started
    assert harness.env.log == ["BeforeStart"]

    record = harness.record
    assert record.stash == Stash(state="start", scheduled=["second", "third"])
    assert (record.flow_name, record.version) == ("test", 0)
    assert record.csrf_token_hash == hash_token(result.csrf_token)
    assert record.expires_at == T0 + timedelta(seconds=TTL)
    assert record.facts == {"lang": "de"}
    assert record.history == [event(harness, None, None, "start")]


def test_csrf_tokens_are_32_characters_drawn_from_digits_and_ascii_letters(harness):
    tokens = [harness.start().csrf_token for _ in range(50)]
    tokens += [new_csrf_token() for _ in range(150)]
    assert all(CSRF.fullmatch(token) for token in tokens)
    assert len(set(tokens)) == len(tokens)
    assert set("".join(tokens)) == set(string.digits + string.ascii_letters)
    assert len(harness.store.records) == 50


def test_before_state_hook_of_the_initial_state_can_schedule_states(harness):
    harness.env.on_hook["BeforeStart"] = lambda ctx: ctx.schedule("ob_one")
    harness.start()
    assert harness.record.stash.scheduled == ["ob_one", "second", "third"]


class CreateFailsStore(MemoryFlowStore):
    def create(self, record):
        raise OSError("database is down")


@pytest.mark.parametrize("failure", ["hook", "store"])
def test_failing_start_is_a_technical_early_error_and_stores_nothing(failure):
    harness = Harness(CreateFailsStore() if failure == "store" else MemoryFlowStore())
    if failure == "hook":
        harness.env.on_hook["BeforeStart"] = boom
    assert_early_error(harness.start(), errors.TECHNICAL)
    assert harness.store.records == {}


# --- early errors (§1.8): refused, flow untouched -----------------------------------------------

MALFORMED_ACTIONS = [
    "",
    "@",
    "go",
    "go@",
    "@{id}",
    "a@b@c",
    "go@not-a-uuid",
    "go@{id}@",
    "go@{id}@{id}",
    "go@{id}x",
    "go@{id}\x00",
    "go@\x00{id}",
    "go\x00@{id}",
    "\x00@{id}",
    "x" * 10_000,
    "go@" + "a" * 10_000,
    "g" * 10_000 + "@{id}",
]


@pytest.mark.parametrize("raw", MALFORMED_ACTIONS, ids=lambda raw: repr(raw[:24]))
def test_malformed_action_parameter_is_refused_like_an_unknown_flow(started, raw):
    before = started.record
    result = started.engine.execute(
        raw.replace("{id}", started.flow_id), {}, started.token, started.env
    )
    assert_refused(started, before, result)  # 403, not Hanko's 500 (security-checks FL-01)


@pytest.mark.parametrize(
    "raw",
    ["go", "", "@", "go@", "@{id}", "a@b@c", "go@not-a-uuid", "go@{id}@x", "go@{id}x"],
)
def test_action_ref_rejects_malformed_values(raw):
    assert ActionRef.parse(raw.replace("{id}", str(uuid.uuid4()))) is None


def test_action_ref_parses_the_name_and_a_canonical_flow_id():
    flow_id = uuid.uuid4()
    assert ActionRef.parse(f"go@{flow_id}") == ActionRef("go", str(flow_id))
    assert ActionRef.parse(f"go@{str(flow_id).upper()}") == ActionRef("go", str(flow_id))


def test_unknown_flow_id_is_refused(started):
    before = started.record
    result = started.act("go", flow_id=str(uuid.uuid4()))
    assert_refused(started, before, result)


def test_flow_of_another_flow_definition_is_refused_and_unchanged(harness):
    other = FlowEngine(build_test_flow("other"), harness.store, now=harness.clock)
    started_elsewhere = other.start(harness.env)
    harness.flow_id, harness.token = started_elsewhere.flow_id, started_elsewhere.csrf_token
    before = harness.record

    assert_refused(harness, before, harness.act("go"))
    action = f"go@{harness.flow_id}"
    assert other.execute(action, {}, harness.token, harness.env).state == "second"


@pytest.mark.parametrize(
    "wrong",
    [
        lambda token: "",
        lambda token: token[:-1],
        lambda token: token + "0",
        lambda token: " " + token,
        lambda token: token.swapcase(),
        lambda token: "0" * 32,
        lambda token: token + "\x00",
        lambda token: "ä" * 32,
        lambda token: "x" * 10_000,
    ],
    ids=[
        "empty",
        "truncated",
        "extended",
        "padded",
        "swapcase",
        "zeros",
        "nul",
        "non-ascii",
        "10kB",
    ],
)
def test_wrong_csrf_token_is_refused_and_flow_unchanged(started, wrong):
    before = started.record
    assert_refused(started, before, started.act("go", token=wrong(started.token)))
    assert started.env.log == []  # refused before any hook ran


def test_csrf_token_of_another_flow_is_refused(started):
    other = started.engine.start(started.env)
    before = started.record
    assert_refused(started, before, started.act("go", token=other.csrf_token))


def test_early_error_keeps_the_stored_token_usable(started):
    started.act("go", token="wrong")
    started.act("nope")
    assert started.act("go").state == "second"


@pytest.mark.parametrize("elapsed", [TTL, TTL + 1, 100 * TTL])
def test_expired_flow_is_refused_with_410_and_unchanged(started, elapsed):
    started.clock.advance(seconds=elapsed)
    before = started.record
    assert_refused(started, before, started.act("go"), errors.FLOW_EXPIRED)
    assert (errors.FLOW_EXPIRED.code, errors.FLOW_EXPIRED.status) == ("flow_expired_error", 410)


def test_ttl_is_absolute_and_not_extended_by_activity(started):
    started.clock.advance(seconds=TTL - 1)
    assert started.act("go").state == "second"
    assert started.record.expires_at == T0 + timedelta(seconds=TTL)
    started.clock.advance(seconds=1)
    assert_early_error(started.act("go"), errors.FLOW_EXPIRED)


def test_expired_flow_with_a_wrong_token_reveals_nothing(started):
    started.clock.advance(seconds=TTL + 1)
    before = started.record
    assert_refused(started, before, started.act("go", token="x" * 32))


@pytest.mark.parametrize("name", ["other", "skip", "nope", "GO", "go ", "error"])
def test_action_not_in_the_current_state_is_refused(started, name):
    before = started.record
    assert_refused(started, before, started.act(name))


def test_suspended_action_is_neither_offered_nor_executable(harness):
    harness.env.suspended.add("extra")
    assert action_names(harness.start()) == ["go", "form", "profile"]
    before = harness.record
    assert_refused(harness, before, harness.act("extra"))


def test_back_without_history_is_refused(started):
    before = started.record
    assert_refused(started, before, started.act("back"))


def test_refusing_before_each_action_hook_gives_403_and_flow_unchanged(started):
    started.env.on_hook["BeforeEachAction"] = boom
    before = started.record
    assert_refused(started, before, started.act("go"))
    assert started.env.log == ["BeforeEachAction"]


def _fails_on_second_call(ctx):
    ctx.env.log.append("call")
    if ctx.env.log.count("call") > 1:
        raise RuntimeError("boom")


def _action_changes_stash_then_raises(ctx):
    ctx.stash.set("half", "done")
    ctx.schedule("final")
    raise RuntimeError("boom")


@pytest.mark.parametrize(
    ("hook", "handler"),
    [
        ("execute:go", _action_changes_stash_then_raises),
        ("BeforeEachAction", _fails_on_second_call),  # its second run, inside Continue
        ("AfterStart", boom),
        ("BeforeSecond", boom),
    ],
)
def test_exception_during_the_step_is_a_technical_early_error_and_flow_unchanged(
    started, hook, handler
):
    if hook == "execute:go":
        started.env.on_execute["go"] = handler
    else:
        started.env.on_hook[hook] = handler
    before = started.record
    assert_early_error(started.act("go"), errors.TECHNICAL)
    assert started.record == before
    assert (errors.TECHNICAL.code, errors.TECHNICAL.status) == ("technical_error", 500)


@pytest.mark.parametrize(
    "returned", [None, "second", ("second",), True, errors.TECHNICAL, Continue, []]
)
def test_action_returning_something_that_is_not_an_outcome_is_a_technical_error(started, returned):
    started.env.on_execute["go"] = lambda ctx: returned
    before = started.record
    assert_early_error(started.act("go"), errors.TECHNICAL)
    assert started.record == before


def _schedules_unknown(ctx):
    ctx.schedule("nowhere")
    return ctx.continue_to()


@pytest.mark.parametrize(
    "script",
    [
        lambda ctx: ctx.continue_to("nowhere"),
        lambda ctx: ctx.continue_to("second", "nowhere"),
        _schedules_unknown,
    ],
)
def test_unknown_target_state_is_a_technical_error_and_flow_unchanged(started, script):
    started.env.on_execute["go"] = script
    before = started.record
    assert_early_error(started.act("go"), errors.TECHNICAL)
    assert started.record == before


def test_stored_state_unknown_to_the_definition_is_a_technical_error(harness):
    before = harness.seed("ghost")
    assert_refused(harness, before, harness.act("go"), errors.TECHNICAL)


def test_continue_with_nothing_scheduled_is_a_technical_error_and_flow_unchanged(started):
    started.act("go")
    assert started.act("go").state == "third"
    before = started.record
    assert before.stash.scheduled == []

    assert_early_error(started.act("go"), errors.TECHNICAL)
    assert started.record == before


class StaleStore(MemoryFlowStore):
    def save(self, record):
        raise StaleFlowError(record.id)


class SaveFailsStore(MemoryFlowStore):
    def save(self, record):
        raise OSError("disk full")


@pytest.mark.parametrize(
    ("store", "error"),
    [(StaleStore, errors.OPERATION_NOT_PERMITTED), (SaveFailsStore, errors.TECHNICAL)],
)
def test_failed_save_is_an_early_error_and_flow_unchanged(store, error):
    harness = Harness(store())
    harness.start()
    before = harness.record
    assert_early_error(harness.act("go"), error)
    assert harness.record == before


def test_step_that_lost_the_race_to_another_request_is_refused(started):
    def another_request_finishes_first(ctx):
        stored = started.store.records[started.flow_id]
        stored.version += 1
        stored.csrf_token_hash = hash_token("rotated-by-the-other-request")
        return ctx.continue_to()

    started.env.on_execute["go"] = another_request_finishes_first
    assert_early_error(started.act("go"), errors.OPERATION_NOT_PERMITTED)
    record = started.record
    assert (record.version, record.csrf_token_hash, record.stash.state) == (
        1,
        hash_token("rotated-by-the-other-request"),
        "start",
    )


# --- CSRF rotation ------------------------------------------------------------------------------


def test_every_persisted_step_rotates_the_token_and_earlier_tokens_are_refused(started):
    tokens = [started.token]
    for action, input_data, status in [
        ("form", {"email": "nope"}, 400),  # 4xx error: persisted too
        ("go", {}, 200),  # continue
        ("back", {}, 200),  # revert
    ]:
        result = started.act(action, input_data)
        assert result.status == status
        tokens.append(result.csrf_token)

    assert all(CSRF.fullmatch(token) for token in tokens)
    assert len(set(tokens)) == len(tokens)
    assert started.record.csrf_token_hash == hash_token(tokens[-1])
    assert started.record.version == 3

    before = started.record
    for old in tokens[:-1]:
        assert_refused(started, before, started.act("go", token=old))
    assert started.act("go").state == "second"


# --- Continue -----------------------------------------------------------------------------------


def test_continue_pops_the_next_state_and_writes_a_history_item(started):
    def go(ctx):
        ctx.stash.set("k", "v")
        return ctx.continue_to()

    started.env.on_execute["go"] = go
    result = started.act("go")

    assert (result.state, result.status, result.error) == ("second", 200, None)
    assert action_names(result) == ["go", "form", "back", "skip"]
    assert CSRF.fullmatch(result.csrf_token)
    record = started.record
    assert record.stash == Stash(
        state="second",
        prev_state="start",
        scheduled=["third"],
        data={"k": "v"},
        history=[START_ITEM],
    )
    assert record.version == 1
    assert record.history[-1] == event(started, "go", "start", "second")
    assert started.env.log == CONTINUE_LOG


def test_continue_goes_to_named_states_then_to_previously_scheduled_ones(started):
    started.env.on_execute["go"] = lambda ctx: ctx.continue_to("ob_one", "ob_two")
    assert started.act("go").state == "ob_one"
    assert started.record.stash.scheduled == ["ob_two", "second", "third"]
    assert started.record.stash.prev_state == "start"

    del started.env.on_execute["go"]
    assert [started.act("go").state for _ in range(3)] == ["ob_two", "second", "third"]
    assert started.record.stash.scheduled == []
    assert [item.state for item in started.record.stash.history] == [
        "start",
        "ob_one",
        "ob_two",
        "second",
    ]


def test_named_states_come_before_states_the_action_scheduled(started):
    def go(ctx):
        ctx.schedule("final")
        return ctx.continue_to("ob_one")

    started.env.on_execute["go"] = go
    started.act("go")
    assert started.record.stash.scheduled == ["final", "second", "third"]


def test_continue_to_a_state_that_is_also_scheduled_keeps_the_schedule(started):
    started.env.on_execute["go"] = lambda ctx: ctx.continue_to("third")
    started.act("go")
    assert (started.record.stash.state, started.record.stash.scheduled) == (
        "third",
        ["second", "third"],
    )


def test_continuing_to_the_same_state_reruns_its_hooks_without_a_history_item(started):
    def go(ctx):
        ctx.stash.set("x", 1)
        return ctx.continue_to("start")

    started.env.on_execute["go"] = go
    result = started.act("go")

    assert (result.state, result.status) == ("start", 200)
    assert result.payload == {"greeting": "hello"}  # re-created by the re-run hook
    assert "back" not in action_names(result)
    assert started.record.stash == Stash(
        state="start", prev_state="start", scheduled=["second", "third"], data={"x": 1}
    )
    assert started.env.log == [
        "BeforeEachAction",
        "execute:go",
        "BeforeEachAction",
        "AfterStart",
        "AfterEachAction",
        "BeforeStart",
    ]


def test_skip_moves_on_to_the_next_scheduled_state(started):
    started.act("go")
    assert started.act("skip").state == "third"


# --- Fail ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        errors.FORM_DATA_INVALID,
        errors.PASSKEY_INVALID,
        errors.OPERATION_NOT_PERMITTED,
        errors.RATE_LIMIT_EXCEEDED,
    ],
)
def test_4xx_error_stays_in_state_discards_data_changes_and_keeps_scheduled_states(started, error):
    def first(ctx):
        ctx.stash.set("kept", 1)
        return ctx.continue_to()

    def failing(ctx):
        ctx.stash.set("kept", 2)
        ctx.stash.set("new", True)
        ctx.schedule("final")
        ctx.payload["note"] = "payload survives"
        return ctx.error(error)

    started.env.on_execute["go"] = first
    started.act("go")
    before = started.record
    started.env.on_execute["go"] = failing
    result = started.act("go")

    assert (result.state, result.status, result.error) == ("second", error.status, error)
    assert not result.is_early_error
    assert result.payload == {"note": "payload survives"}
    assert action_names(result) == ["go", "form", "back", "skip"]
    assert CSRF.fullmatch(result.csrf_token)
    assert record_hash_changed(started, before)
    record = started.record
    assert record.stash == Stash(
        state="second",
        prev_state="second",
        scheduled=["final", "third"],
        data={"kept": 1},
        history=before.stash.history,  # no history item
    )
    assert record.version == before.version + 1
    assert record.history == [*before.history, event(started, "go", "second", "second", error.code)]
    assert started.env.log == ["BeforeEachAction", "execute:go", "BeforeSecond"]


def test_4xx_error_reruns_the_states_before_state_hooks(started):
    started.env.on_execute["go"] = lambda ctx: ctx.error(errors.PASSKEY_INVALID)
    result = started.act("go")
    assert result.payload == {"greeting": "hello"}
    assert started.env.log == ["BeforeEachAction", "execute:go", "BeforeStart"]


@pytest.mark.parametrize(
    "error", [errors.TECHNICAL, errors.FLOW_DISCONTINUITY, errors.TECHNICAL.with_status(503)]
)
def test_5xx_error_moves_the_flow_to_the_error_state_for_good(started, error):
    def failing(ctx):
        ctx.stash.set("x", 1)
        ctx.payload["p"] = 1
        return ctx.error(error)

    started.env.on_execute["go"] = failing
    result = started.act("go")

    assert (result.state, result.status, result.error) == ("error", error.status, error)
    assert not result.is_early_error  # persisted: payload and a fresh token
    assert result.payload == {"p": 1}
    assert result.actions == ()
    assert CSRF.fullmatch(result.csrf_token)
    record = started.record
    assert record.stash == Stash(
        state="error", prev_state="start", scheduled=["second", "third"], data={}
    )
    assert record.version == 1
    assert record.history[-1] == event(started, "go", "start", "error", error.code)
    assert started.env.log == ["BeforeEachAction", "execute:go", "BeforeError"]

    before = started.record
    assert_refused(started, before, started.act("go"))


def test_set_flow_error_attaches_the_error_while_still_transitioning(started):
    def go(ctx):
        ctx.stash.set("x", 1)
        ctx.set_flow_error(errors.PASSKEY_INVALID)
        return ctx.continue_to("third")

    started.env.on_execute["go"] = go
    result = started.act("go")

    assert (result.state, result.status, result.error) == ("third", 401, errors.PASSKEY_INVALID)
    assert action_names(result) == ["go", "other", "back"]
    assert result.payload == {}
    assert started.record.stash == Stash(
        state="third",
        prev_state="start",
        scheduled=["second", "third"],
        data={"x": 1},
        history=[START_ITEM],
    )
    assert started.record.history[-1] == event(started, "go", "start", "third", "passkey_invalid")


# --- back ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("prevent", [True, False])
def test_prevent_revert_hides_back_in_the_next_state(started, prevent):
    def go(ctx):
        if prevent:
            ctx.prevent_revert()
        return ctx.continue_to()

    started.env.on_execute["go"] = go
    result = started.act("go")

    assert ("back" in action_names(result)) is not prevent
    assert started.record.stash.history[-1].revertible is not prevent
    if prevent:
        before = started.record
        assert_refused(started, before, started.act("back"))
    else:
        assert started.act("back").state == "start"


def test_back_restores_state_schedule_and_data_but_keeps_sticky_keys(started):
    def to_second(ctx):
        ctx.stash.set("k", "one")
        ctx.stash.set("sticky.s", "old")
        return ctx.continue_to()

    def to_ob_one(ctx):
        ctx.stash.set("k", "two")
        ctx.stash.set("sticky.s", "new")
        ctx.stash.set("sticky.t", "t")
        return ctx.continue_to("ob_one")

    started.env.on_execute["go"] = to_second
    started.act("go")
    started.env.on_execute["go"] = to_ob_one
    started.act("go")
    second_item = HistoryItem(
        state="second",
        prev_state="start",
        scheduled=["third"],
        data={"k": "one", "sticky.s": "old"},
        revertible=True,
    )
    assert started.record.stash == Stash(
        state="ob_one",
        prev_state="second",
        scheduled=["third"],
        data={"k": "two", "sticky.s": "new", "sticky.t": "t"},
        history=[START_ITEM, second_item],
    )
    sticky = {"sticky.s": "new", "sticky.t": "t"}

    result = started.act("back")
    assert (result.state, result.status, result.error) == ("second", 200, None)
    assert action_names(result) == ["go", "form", "back", "skip"]
    assert started.record.stash == Stash(
        state="second",
        prev_state="start",
        scheduled=["third"],
        data={"k": "one", **sticky},
        history=[START_ITEM],
    )
    # before-each-action (step 11 and again in Revert), then the restored state's hooks only
    assert started.env.log == ["BeforeEachAction", "BeforeEachAction", "BeforeSecond"]
    assert started.record.version == 3
    assert started.record.history[-1] == event(started, "back", "ob_one", "second")

    result = started.act("back")
    assert (result.state, result.payload) == ("start", {"greeting": "hello"})
    assert "back" not in action_names(result)
    assert started.record.stash == Stash(state="start", scheduled=["second", "third"], data=sticky)
    assert started.env.log == ["BeforeEachAction", "BeforeEachAction", "BeforeStart"]


def test_back_after_a_4xx_error_returns_to_the_state_before(started):
    started.act("go")
    started.act("form", {"email": "nope"})
    assert started.act("back").state == "start"
    assert started.record.stash == Stash(state="start", scheduled=["second", "third"])


# --- hooks --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "runs"),
    [
        (lambda ctx: ctx.continue_to(), True),
        (lambda ctx: ctx.continue_to("second"), True),  # re-entering counts as leaving
        (lambda ctx: ctx.error(errors.PASSKEY_INVALID), False),
        (lambda ctx: ctx.error(errors.TECHNICAL), False),
        (lambda ctx: ctx.revert(), False),
    ],
    ids=["continue", "continue-same-state", "error-4xx", "error-5xx", "revert"],
)
def test_after_state_and_after_each_action_hooks_run_on_continue_only(started, outcome, runs):
    started.act("go")
    started.env.on_execute["go"] = outcome
    assert started.act("go").status in (200, 401, 500)
    assert ("AfterSecond" in started.env.log) is runs
    assert ("AfterEachAction" in started.env.log) is runs


def test_after_flow_hooks_run_when_the_flow_leaves_a_subflows_states(started):
    started.env.on_execute["go"] = lambda ctx: ctx.continue_to("ob_one", "ob_two")
    started.act("go")  # start -> ob_one: "test" has no after-flow hooks
    assert "AfterOnboarding" not in started.env.log

    del started.env.on_execute["go"]
    started.act("go")  # ob_one -> ob_two: same owner
    assert started.env.log == [
        "BeforeEachAction",
        "execute:go",
        "BeforeEachAction",
        "AfterEachAction",
    ]

    started.act("go")  # ob_two -> second: leaves "onboarding"
    assert started.env.log == [
        "BeforeEachAction",
        "execute:go",
        "BeforeEachAction",
        "AfterOnboarding",
        "AfterEachAction",
        "BeforeSecond",
    ]


@pytest.mark.parametrize(
    ("targets", "stored", "runs"),
    [
        ((), ["second"], True),
        ((), ["ob_one"], False),
        (("second",), ["ob_one"], True),  # the in-memory next state decides
        (("ob_one",), ["second"], False),
    ],
)
def test_after_flow_hooks_look_at_the_next_state_in_memory_first(harness, targets, stored, runs):
    harness.seed("ob_two", scheduled=stored)
    harness.env.on_execute["go"] = lambda ctx: ctx.continue_to(*targets)
    assert harness.act("go").status == 200
    assert ("AfterOnboarding" in harness.env.log) is runs


def test_after_flow_hook_schedules_states_after_the_actions_targets(harness):
    harness.seed("ob_two", scheduled=["second"])
    harness.env.on_hook["AfterOnboarding"] = lambda ctx: ctx.schedule("final")
    harness.env.on_execute["go"] = lambda ctx: ctx.continue_to("third")
    assert harness.act("go").state == "third"
    assert harness.record.stash.scheduled == ["final", "second"]


def test_after_flow_hooks_run_when_nothing_is_scheduled_and_may_provide_the_next_state(harness):
    harness.seed("ob_two")
    harness.env.on_hook["AfterOnboarding"] = lambda ctx: ctx.schedule("final")
    result = harness.act("go")
    assert (result.state, result.actions) == ("final", ())
    assert harness.record.stash.scheduled == []
    assert "AfterOnboarding" in harness.env.log


def test_before_state_hook_schedules_states_right_after_the_entered_state(started):
    started.env.on_hook["BeforeSecond"] = lambda ctx: ctx.schedule("final")
    started.act("go")
    assert started.record.stash.scheduled == ["final", "third"]
    started.env.on_hook.clear()
    assert started.act("go").state == "final"


def test_hooks_and_actions_see_the_callers_env(started):
    seen = []
    started.env.on_hook["BeforeEachAction"] = lambda ctx: seen.append(ctx.env)
    started.env.on_execute["go"] = lambda ctx: seen.append(ctx.env) or ctx.continue_to()
    started.act("go")
    assert seen == [started.env] * 3


# --- payload ------------------------------------------------------------------------------------


def test_payload_lives_for_one_response_only(started):
    def go(ctx):
        ctx.payload["token"] = "abc"
        return ctx.continue_to()

    started.env.on_execute["go"] = go
    assert started.act("go").payload == {"token": "abc"}  # no "greeting" from the start response
    del started.env.on_execute["go"]
    assert started.act("go").payload == {}
    record = started.record
    assert not hasattr(record, "payload")
    assert record.stash.data == {}


# --- inputs in responses ------------------------------------------------------------------------


def test_fresh_rendering_has_unbound_inputs(harness):
    result = harness.start()
    assert list(inputs_of(result, "form")) == ["email", "username", "nickname"]
    assert list(inputs_of(result, "profile")) == ["username"]
    for view in result.actions:
        for item in view.inputs:
            assert (item.value, item.error) == (MISSING, None)


def test_input_errors_are_rendered_on_the_executed_action_only(started):
    result = started.act("form", {"email": "not-an-email", "username": "  AB ", "nickname": "nick"})

    assert (result.state, result.status, result.error) == ("start", 400, errors.FORM_DATA_INVALID)
    form = inputs_of(result, "form")
    assert {name: item.error for name, item in form.items()} == {
        "email": errors.VALUE_INVALID,
        "username": errors.VALUE_TOO_SHORT,
        "nickname": None,
    }
    assert form["username"].value == "ab"  # preserve: the submitted, normalised value
    assert form["email"].value is MISSING
    assert form["nickname"].value is MISSING
    profile = inputs_of(result, "profile")["username"]  # same input name, other action
    assert (profile.value, profile.error) == (MISSING, None)
    assert started.record.stash.data == {}


def test_preserved_input_is_echoed_when_the_next_state_offers_the_same_action(started):
    result = started.act("form", {"email": "a@example.com", "username": " Alice "})
    assert (result.state, result.status) == ("second", 200)
    form = inputs_of(result, "form")
    assert (form["username"].value, form["username"].error) == ("alice", None)
    assert (form["email"].value, form["email"].error) == (MISSING, None)
    assert started.record.stash.data == {"username": "alice"}


def test_action_attaching_an_input_error_answers_400_with_the_error_on_that_input(started):
    started.env.on_execute["form"] = lambda ctx: ctx.input_error(
        "username", errors.USERNAME_ALREADY_EXISTS
    )
    result = started.act("form", {"email": "a@example.com", "username": "Taken"})
    assert (result.state, result.status, result.error) == ("start", 400, errors.FORM_DATA_INVALID)
    username = inputs_of(result, "form")["username"]
    assert (username.error, username.value) == (errors.USERNAME_ALREADY_EXISTS, "Taken")


# --- step history, facts and token storage ------------------------------------------------------


def test_each_persisted_step_appends_one_entry_to_the_flows_history(started):
    started.clock.advance(seconds=5)
    steps = [
        (lambda: started.act("go"), ("go", "start", "second", None)),
        (
            lambda: started.act("form", {"email": "nope"}),
            ("form", "second", "second", "form_data_invalid_error", ["email"]),
        ),
        (lambda: started.act("back"), ("back", "second", "start", None)),
        (lambda: started.act("nope"), None),  # early error: nothing recorded
        (lambda: started.act("go", token="wrong"), None),
    ]
    expected = [event(started, None, None, "start")]
    expected[0]["at"] = T0.isoformat()
    for step, entry in steps:
        step()
        if entry:
            expected.append(event(started, *entry))
        assert started.record.history == expected

    started.env.on_execute["go"] = lambda ctx: ctx.error(errors.TECHNICAL)
    started.act("go")
    assert started.record.history[-1] == event(started, "go", "start", "error", "technical_error")
    assert len(started.record.history) == 5


def test_facts_of_each_step_are_merged_into_the_record(harness):
    harness.start(facts={"lang": "de", "ip": "10.0.0.1"})
    harness.engine.execute(f"go@{harness.flow_id}", {}, harness.token, harness.env, {"lang": "en"})
    assert harness.record.facts == {"lang": "en", "ip": "10.0.0.1"}


def test_only_a_digest_of_the_csrf_token_is_stored(started):
    record = started.record
    assert record.csrf_token_hash == hash_token(started.token)
    assert started.token not in repr(record)
    before = record
    assert_refused(started, before, started.act("go", token=record.csrf_token_hash))
