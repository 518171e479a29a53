"""Running a flow: start it, or execute one action on it (flow-api.md §1.7-1.9, §2.4-2.8).

``FlowEngine`` is the only place that moves a flow between states. It checks a request in the
documented order, runs the action inside the store's locked transaction, applies the outcome
(continue, error or revert) with the hooks it triggers, persists the stash with a fresh CSRF
token, and describes the resulting state as a neutral ``FlowResult``.
"""

from __future__ import annotations

import hmac
import logging
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hankoflow.engine import errors, unstored_start
from hankoflow.engine.action import Action
from hankoflow.engine.context import ActionSetup, FlowContext
from hankoflow.engine.errors import FlowError
from hankoflow.engine.flow import FlowDefinition
from hankoflow.engine.inputs import Input
from hankoflow.engine.outcome import Continue, Fail, Outcome, Revert, StepRefused
from hankoflow.engine.request import RequestFacts
from hankoflow.engine.result import ActionView, FlowResult
from hankoflow.engine.stash import HistoryItem, Stash
from hankoflow.engine.store import FlowRecord, FlowStore, StaleFlowError
from hankoflow.engine.tokens import hash_token, new_csrf_token

logger = logging.getLogger("hankoflow.engine")

UUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class ActionRef:
    """The parsed ``action`` query parameter: ``<name>@<flow id>``."""

    name: str
    flow_id: str

    @classmethod
    def parse(cls, raw: str) -> ActionRef | None:
        parts = raw.split("@")
        if len(parts) != 2 or not parts[0] or not UUID_PATTERN.match(parts[1]):
            return None
        return cls(parts[0], str(uuid.UUID(parts[1])))


class FlowEngine:
    """Starts flows of one definition and executes their actions against a store."""

    def __init__(
        self,
        definition: FlowDefinition,
        store: FlowStore,
        *,
        ttl_seconds: int | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        start_keys: Sequence[bytes] = (),
    ) -> None:
        """``start_keys``: with them, a start that changes nothing is not stored until the
        first action (``unstored_start``); the first key makes start tokens, all check them."""
        self.definition = definition
        self.store = store
        self.ttl = timedelta(seconds=ttl_seconds or definition.ttl_seconds)
        self.now = now
        self.start_keys = tuple(start_keys)

    # --- public API ----------------------------------------------------------------------------

    def start(
        self, env: RequestFacts | None = None, facts: dict[str, Any] | None = None
    ) -> FlowResult:
        """Start a flow in its first initial state (its before-state hooks run). It is stored
        now, or, with ``start_keys`` and a start that changed nothing, at its first action."""
        started = self.now()
        flow_id = unstored_start.new_flow_id(started)
        ctx = FlowContext(self.definition, flow_id, self._declared_stash(), env)
        try:
            self._run_before_state(ctx, ctx.stash.state)
            if self.start_keys and self._untouched(ctx):
                csrf_token = unstored_start.start_token(
                    self.start_keys[0], self.definition.name, flow_id
                )
                return self._render(ctx, csrf_token)
            csrf_token = new_csrf_token()
            record = self._started_record(
                flow_id, ctx.stash, csrf_token, started, env, error=ctx.flow_error, facts=facts
            )
            self.store.create(record)
        except Exception:
            logger.exception("starting flow %s failed", self.definition.name)
            return self.early_error(errors.TECHNICAL)
        return self._render(ctx, csrf_token)

    def execute(
        self,
        action: str,
        input_data: dict[str, Any],
        csrf_token: str,
        env: RequestFacts | None = None,
        facts: dict[str, Any] | None = None,
    ) -> FlowResult:
        """Execute ``action`` (the raw query value) with the request's inputs and token."""
        ref = ActionRef.parse(action)
        if ref is None:
            # Hanko: technical_error (500). A malformed parameter is the client's mistake and
            # must look like any other unknown flow (security-checks FL-01).
            return self.early_error(errors.OPERATION_NOT_PERMITTED)
        try:
            new = self._unstored(ref.flow_id, csrf_token, env)
            with self.store.locked(ref.flow_id, ref.name, new=new) as record:
                return self._execute_locked(ref, record, input_data, csrf_token, env, facts)
        except StaleFlowError:
            # Another request on this flow finished first; ours carries a now-rotated token.
            return self.early_error(errors.OPERATION_NOT_PERMITTED)
        except Exception:
            logger.exception("action %s on flow %s failed", ref.name, ref.flow_id)
            return self.early_error(errors.TECHNICAL)

    def unstored(self, flow_id: str, csrf_token: str) -> FlowRecord | None:
        """The record of a flow started without storing it, when ``csrf_token`` is its start
        token; None otherwise (a stored flow's token, a forged one, another flow's)."""
        return self._unstored(flow_id, csrf_token, None)

    def early_error(self, error: FlowError) -> FlowResult:
        """An answer that leaves any flow untouched (flow-api.md §1.6.4)."""
        return FlowResult(
            flow_name=self.definition.name,
            state=self.definition.error_state,
            status=error.status,
            csrf_token="",
            error=error,
        )

    # --- one action, inside the locked transaction ---------------------------------------------

    def _execute_locked(
        self,
        ref: ActionRef,
        record: FlowRecord | None,
        input_data: dict[str, Any],
        csrf_token: str,
        env: RequestFacts | None,
        facts: dict[str, Any] | None,
    ) -> FlowResult:
        if record is None or record.flow_name != self.definition.name:
            # Hanko: a flow id POSTed to another flow's endpoint may run there; we refuse.
            return self.early_error(errors.OPERATION_NOT_PERMITTED)
        if not csrf_token or not hmac.compare_digest(
            hash_token(csrf_token), record.csrf_token_hash
        ):
            # Hanko checks expiry first; we check the secret first so an outsider cannot
            # learn anything about a flow it does not hold (security-checks FL-04).
            return self.early_error(errors.OPERATION_NOT_PERMITTED)
        if self.now() >= record.expires_at:
            return self.early_error(errors.FLOW_EXPIRED)

        state = self.definition.state(record.stash.state)
        action_type = state.action(ref.name)
        if action_type is None:
            return self.early_error(errors.OPERATION_NOT_PERMITTED)

        original = record.stash.snapshot()
        ctx = FlowContext(self.definition, record.id, record.stash, env, input_data=input_data)
        try:
            self._run_hooks(ctx, self.definition.before_each_action)
        except Exception:
            logger.info("before-each-action hook refused %s", ref.name, exc_info=True)
            return self.early_error(errors.OPERATION_NOT_PERMITTED)

        action = action_type()
        setup = self._setup(ctx, action)
        if setup.suspended:
            return self.early_error(errors.OPERATION_NOT_PERMITTED)
        for item in setup.inputs.values():
            item.bind(input_data)
        ctx.inputs = setup.inputs

        try:
            self._apply(ctx, action.execute(ctx), original)
        except StepRefused as refusal:
            ctx = self._restart(ctx, original)
            self._fail(ctx, refusal.error, original)

        csrf_token = new_csrf_token()
        record.stash = ctx.stash
        record.csrf_token_hash = hash_token(csrf_token)
        record.version += 1
        record.facts.update(facts or {})
        sent = [name for name in setup.inputs if name in input_data]
        record.history.append(
            self._event(ref.name, state.name, ctx.stash.state, ctx.flow_error, env, sent)
        )
        self.store.save(record)
        return self._render(ctx, csrf_token, executed=(action.name, setup.inputs))

    # --- outcomes ------------------------------------------------------------------------------

    def _apply(self, ctx: FlowContext, outcome: Outcome, original: Stash) -> None:
        if isinstance(outcome, Continue):
            self._continue(ctx, outcome.states, original)
        elif isinstance(outcome, Fail):
            self._fail(ctx, outcome.error, original)
        elif isinstance(outcome, Revert):
            self._revert(ctx)
        else:
            raise TypeError(f"an action must return an outcome, not {outcome!r}")

    def _continue(self, ctx: FlowContext, targets: tuple[str, ...], original: Stash) -> None:
        for name in targets:
            self.definition.state(name)
        self._run_hooks(ctx, self.definition.before_each_action)
        leaving = ctx.stash.state
        ctx.scheduled_now[:0] = targets

        upcoming = ctx.scheduled_now[0] if ctx.scheduled_now else None
        upcoming = upcoming or (ctx.stash.scheduled[0] if ctx.stash.scheduled else None)
        owner = self.definition.state(leaving).owner
        if upcoming is None or self.definition.state(upcoming).owner != owner:
            self._run_hooks(ctx, self.definition.after_flow.get(owner, ()))
        self._run_hooks(ctx, self.definition.after_state.get(leaving, ()))
        self._run_hooks(ctx, self.definition.after_each_action)

        schedule = ctx.scheduled_now + ctx.stash.scheduled
        if not schedule:
            raise RuntimeError(f"nothing scheduled after state {leaving!r}")
        head, rest = schedule[0], schedule[1:]
        ctx.scheduled_now = []
        if head != leaving:
            ctx.stash.history.append(
                HistoryItem(
                    state=leaving,
                    prev_state=original.prev_state,
                    scheduled=original.scheduled,
                    data=original.data,
                    revertible=not ctx.revert_prevented,
                )
            )
        ctx.stash.prev_state = leaving
        ctx.stash.state = head
        ctx.stash.scheduled = rest
        self._run_before_state(ctx, head)

    def _restart(self, ctx: FlowContext, original: Stash) -> FlowContext:
        """A fresh context at the step's start, keeping the executed inputs (and their errors)."""
        return FlowContext(
            self.definition,
            ctx.flow_id,
            original.snapshot(),
            ctx.env,
            inputs=ctx.inputs,
            input_data=ctx.input_data,
        )

    def _fail(self, ctx: FlowContext, error: FlowError, original: Stash) -> None:
        leaving = ctx.stash.state
        target = leaving if 400 <= error.status < 500 else self.definition.error_state
        ctx.flow_error = error
        # Stash changes of a failed step are discarded; its database side effects are kept.
        ctx.stash.data = original.data
        ctx.stash.history = original.history
        ctx.stash.scheduled = ctx.scheduled_now + original.scheduled
        ctx.scheduled_now = []
        ctx.stash.prev_state = leaving
        ctx.stash.state = target
        self._run_before_state(ctx, target)

    def _revert(self, ctx: FlowContext) -> None:
        if not ctx.stash.can_revert:
            raise RuntimeError(f"state {ctx.stash.state!r} cannot be reverted")
        item = ctx.stash.history.pop()
        sticky = ctx.stash.sticky_data()
        ctx.stash.state = item.state
        ctx.stash.prev_state = item.prev_state
        ctx.stash.scheduled = list(item.scheduled)
        ctx.stash.data = {**item.data, **sticky}
        self._run_hooks(ctx, self.definition.before_each_action)
        self._run_before_state(ctx, item.state)

    # --- starts stored at the first action (unstored_start) -----------------------------------

    def _declared_stash(self) -> Stash:
        """The stash of a flow before its start hooks run: its first initial state, the rest
        scheduled."""
        first, *rest = self.definition.initial_states
        return Stash(state=first, scheduled=rest)

    def _untouched(self, ctx: FlowContext) -> bool:
        """Whether the start hooks left the flow as declared, so its first action can rebuild
        it from the id and the token alone."""
        return (
            ctx.flow_error is None
            and not ctx.effects.items
            and ctx.stash.to_dict(copy=False) == self._declared_stash().to_dict(copy=False)
        )

    def _started_record(
        self,
        flow_id: str,
        stash: Stash,
        csrf_token: str,
        started: datetime,
        env: RequestFacts | None,
        *,
        error: FlowError | None = None,
        facts: dict[str, Any] | None = None,
        stored: bool = True,
    ) -> FlowRecord:
        """The record a start leaves: stored by ``start``, or rebuilt by the first action of a
        flow started without storing it (``stored`` False)."""
        first = self.definition.initial_states[0]
        return FlowRecord(
            id=flow_id,
            flow_name=self.definition.name,
            stash=stash,
            csrf_token_hash=hash_token(csrf_token),
            expires_at=started + self.ttl,
            facts=dict(facts or {}),
            history=[self._event(None, None, first, error, env, at=started)],
            stored=stored,
        )

    def _unstored(
        self, flow_id: str, csrf_token: str, env: RequestFacts | None
    ) -> FlowRecord | None:
        if not self.start_keys or not csrf_token:
            return None
        started = unstored_start.started_at(flow_id)
        if started is None or started > self.now() + unstored_start.CLOCK_SKEW:
            return None
        if not unstored_start.is_start_token(
            self.start_keys, self.definition.name, flow_id, csrf_token
        ):
            return None
        return self._started_record(
            flow_id, self._declared_stash(), csrf_token, started, env, stored=False
        )

    # --- hooks ---------------------------------------------------------------------------------

    def _run_before_state(self, ctx: FlowContext, state: str) -> None:
        self._run_hooks(ctx, self.definition.before_state.get(state, ()))
        if ctx.scheduled_now:  # states a before-state hook queued come right after this one
            ctx.stash.scheduled[:0] = ctx.scheduled_now
            ctx.scheduled_now = []

    @staticmethod
    def _run_hooks(ctx: FlowContext, hooks: tuple[type, ...]) -> None:
        for hook in hooks:
            hook().run(ctx)

    # --- rendering -----------------------------------------------------------------------------

    def _setup(self, ctx: FlowContext, action: Action) -> ActionSetup:
        setup = ActionSetup(
            self.definition,
            ctx.flow_id,
            ctx.stash,
            ctx.env,
            ctx.payload,
            flow_error=ctx.flow_error,
            memo=ctx.memo,
        )
        action.initialize(setup)
        return setup

    def _render(
        self,
        ctx: FlowContext,
        csrf_token: str,
        executed: tuple[str, dict[str, Input]] | None = None,
    ) -> FlowResult:
        views = []
        for action_type in self.definition.state(ctx.stash.state).actions:
            action = action_type()
            setup = self._setup(ctx, action)
            if setup.suspended:
                continue
            if executed and executed[0] == action.name:
                for name, item in setup.inputs.items():
                    if name in executed[1]:
                        item.inherit(executed[1][name])
            views.append(ActionView(action.name, action.description, tuple(setup.inputs.values())))
        error = ctx.flow_error
        return FlowResult(
            flow_name=self.definition.name,
            flow_id=ctx.flow_id,
            state=ctx.stash.state,
            status=error.status if error else 200,
            csrf_token=csrf_token,
            payload=ctx.payload,
            actions=tuple(views),
            error=error,
            effects=tuple(ctx.effects.items),
        )

    def _event(
        self,
        action: str | None,
        from_state: str | None,
        to_state: str,
        error: FlowError | None,
        env: RequestFacts | None,
        inputs: list[str] | None = None,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """One step for the flow inspection: declared input names only, never their values."""
        return {
            "at": (at or self.now()).isoformat(),
            "action": action,
            "from": from_state,
            "to": to_state,
            "inputs": inputs or [],
            "error": error.code if error else None,
            # Only what the transport already put into the facts; plain test envs have none.
            "ip": getattr(env, "ip", ""),
            "user_agent": getattr(env, "user_agent", ""),
        }
