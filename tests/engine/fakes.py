"""A small fake flow, scriptable actions and recording hooks for the engine's unit tests.

Nothing here knows Hanko's flows. The test flow ``TEST_FLOW`` is::

    test (owner "test"):        start  -> go, form, profile, extra, back
                                second -> go, form, back, skip
                                third  -> go, other, back
                                final  (terminal), error (added by the builder)
    onboarding (sub-flow):      ob_one -> go, skip, back
                                ob_two -> go, back
                                second -> other   (shadowed: the flow's own "second" wins)

initial states ``start, second, third``. Every hook appends its class name to ``env.log`` and
then runs ``env.on_hook[<class name>]`` if a test set one; every scripted action appends
``execute:<name>`` and runs ``env.on_execute[<name>]`` if set (default: ``Continue()``, or
validate-then-continue for the form actions). ``AfterEachAction`` runs after every
continuing action, ``BeforeEachAction`` before every action.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hankoflow import errors
from hankoflow.engine import (
    Action,
    ActionSetup,
    Back,
    Flow,
    FlowContext,
    FlowDefinition,
    FlowEngine,
    FlowRecord,
    FlowResult,
    FlowStore,
    Hook,
    Input,
    MemoryFlowStore,
    Skip,
    Stash,
    SubFlow,
    hash_token,
    new_csrf_token,
)
from hankoflow.engine import inputs as fields
from hankoflow.errors import FlowError

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
TTL = 600


@dataclass
class Env:
    """The opaque ``env`` the tests hand to the engine: a call log and pluggable behaviour."""

    log: list[str] = field(default_factory=list)
    on_execute: dict[str, Callable[[FlowContext], Any]] = field(default_factory=dict)
    on_hook: dict[str, Callable[[FlowContext], None]] = field(default_factory=dict)
    suspended: set[str] = field(default_factory=set)


class Clock:
    """An injectable ``now`` for ``FlowEngine``."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def boom(ctx: FlowContext) -> None:
    raise RuntimeError("boom")


# --- actions ------------------------------------------------------------------------------------


class ScriptedAction(Action):
    """Suspended when its name is in ``env.suspended``; executes ``env.on_execute[name]``."""

    def initialize(self, setup: ActionSetup) -> None:
        if self.name in setup.env.suspended:
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Any:
        ctx.env.log.append(f"execute:{self.name}")
        script = ctx.env.on_execute.get(self.name)
        return script(ctx) if script else self.default(ctx)

    def default(self, ctx: FlowContext) -> Any:
        return ctx.continue_to()


class Go(ScriptedAction):
    name = "go"
    description = "Go on."


class Other(ScriptedAction):
    name = "other"
    description = "Only offered in third."


class Extra(ScriptedAction):
    name = "extra"
    description = "Can be suspended through env.suspended."


class Form(ScriptedAction):
    name = "form"
    description = "Submit a form."

    def initialize(self, setup: ActionSetup) -> None:
        super().initialize(setup)
        setup.add_input(
            fields.email("email", required=True),
            fields.string(
                "username",
                required=True,
                min_length=3,
                max_length=8,
                preserve=True,
                trim_space=True,
                lower_case=True,
            ),
            fields.string("nickname"),
        )

    def default(self, ctx: FlowContext) -> Any:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        ctx.stash.set("username", ctx.input("username"))
        return ctx.continue_to()


class Profile(ScriptedAction):
    """A second action of ``start`` whose input has the same name as one of ``form``'s."""

    name = "profile"
    description = "Change the profile."

    def initialize(self, setup: ActionSetup) -> None:
        super().initialize(setup)
        setup.add_input(fields.string("username", preserve=True))


# --- hooks --------------------------------------------------------------------------------------


class RecordingHook(Hook):
    def run(self, ctx: FlowContext) -> None:
        label = type(self).__name__
        ctx.env.log.append(label)
        handler = ctx.env.on_hook.get(label)
        if handler is not None:
            handler(ctx)


class BeforeStart(RecordingHook):
    """Fills the payload, like Hanko's ``login_init`` request options."""

    def run(self, ctx: FlowContext) -> None:
        ctx.payload["greeting"] = "hello"
        super().run(ctx)


class BeforeSecond(RecordingHook):
    pass


class BeforeObOne(RecordingHook):
    pass


class BeforeError(RecordingHook):
    pass


class AfterStart(RecordingHook):
    pass


class AfterSecond(RecordingHook):
    pass


class AfterOnboarding(RecordingHook):
    pass


class BeforeEachAction(RecordingHook):
    pass


class AfterEachAction(RecordingHook):
    pass


# --- the flow -----------------------------------------------------------------------------------


def build_test_flow(name: str = "test") -> FlowDefinition:
    onboarding = (
        SubFlow("onboarding")
        .state("ob_one", Go, Skip, Back)
        .state("ob_two", Go, Back)
        .state("second", Other)
        .before_state("ob_one", BeforeObOne)
    )
    return (
        Flow(name)
        .state("start", Go, Form, Profile, Extra, Back)
        .state("second", Go, Form, Back, Skip)
        .state("third", Go, Other, Back)
        .state("final")
        .subflows(onboarding)
        .initial_states("start", "second", "third")
        .before_state("start", BeforeStart)
        .before_state("second", BeforeSecond)
        .before_state("error", BeforeError)
        .after_state("start", AfterStart)
        .after_state("second", AfterSecond)
        .after_flow("onboarding", AfterOnboarding)
        .before_each_action(BeforeEachAction)
        .after_each_action(AfterEachAction)
        .ttl(TTL)
        .build()
    )


TEST_FLOW = build_test_flow()


# --- driving the engine -------------------------------------------------------------------------


class Harness:
    """One engine over one store, with a clock, an env and the current flow's id and token."""

    def __init__(self, store: FlowStore | None = None, definition: FlowDefinition = TEST_FLOW):
        self.store: Any = store if store is not None else MemoryFlowStore()
        self.clock = Clock()
        self.env = Env()
        self.engine = FlowEngine(definition, self.store, now=self.clock)
        self.flow_id = ""
        self.token = ""

    def start(self, facts: dict[str, Any] | None = None) -> FlowResult:
        result = self.engine.start(self.env, facts)
        self.flow_id, self.token = result.flow_id or "", result.csrf_token
        return result

    def act(
        self,
        action: str,
        input_data: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        flow_id: str | None = None,
    ) -> FlowResult:
        """Execute ``action`` on the current flow and remember the rotated token."""
        self.env.log.clear()
        result = self.engine.execute(
            f"{action}@{flow_id or self.flow_id}",
            input_data or {},
            self.token if token is None else token,
            self.env,
        )
        if not result.is_early_error:
            self.token = result.csrf_token
        return result

    def seed(
        self,
        state: str,
        *,
        scheduled: list[str] | None = None,
        data: dict[str, Any] | None = None,
        prev_state: str | None = None,
    ) -> FlowRecord:
        """Store a flow in an arbitrary stash, as if earlier steps had led there."""
        record = FlowRecord(
            id=str(uuid.uuid4()),
            flow_name=self.engine.definition.name,
            stash=Stash(
                state=state, prev_state=prev_state, scheduled=scheduled or [], data=data or {}
            ),
            csrf_token_hash="",
            expires_at=self.clock() + timedelta(seconds=TTL),
        )
        self.token = new_csrf_token()
        record.csrf_token_hash = hash_token(self.token)
        self.store.create(record)
        self.flow_id = record.id
        return self.record

    @property
    def record(self) -> FlowRecord:
        """A copy of the stored record of the current flow."""
        return copy.deepcopy(self.store.records[self.flow_id])


def action_names(result: FlowResult) -> list[str]:
    return [view.name for view in result.actions]


def inputs_of(result: FlowResult, action: str) -> dict[str, Input]:
    view = next(view for view in result.actions if view.name == action)
    return {item.name: item for item in view.inputs}


def assert_early_error(result: FlowResult, error: FlowError) -> None:
    """The §1.6.4 shape: error state name, no payload, empty token, no actions."""
    assert result.is_early_error
    assert result.state == "error"
    assert result.status == error.status
    assert result.error == error
    assert result.payload is None
    assert result.csrf_token == ""
    assert result.actions == ()
    assert result.flow_id is None
