"""Declaring flows: a builder for sub-flows and flows, and the immutable definition it builds.

Reading one flow declaration tells you every state and action a client can see (flow-api.md
§2.1). At build time all states of a flow and, recursively, of its sub-flows are merged into one
registry; when a state name is declared twice the first declaration wins, as in Hanko.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Self

from hankoflow.engine.action import Action, Hook

HookType = type[Hook]
ActionType = type[Action]


@dataclass(frozen=True)
class StateDefinition:
    name: str
    actions: tuple[ActionType, ...]
    owner: str  # the (sub-)flow that declared the state; decides when after-flow hooks run

    def action(self, name: str) -> ActionType | None:
        return next((a for a in self.actions if a.name == name), None)


@dataclass(frozen=True)
class FlowDefinition:
    name: str
    states: Mapping[str, StateDefinition]
    initial_states: tuple[str, ...]
    error_state: str
    ttl_seconds: int
    before_state: Mapping[str, tuple[HookType, ...]] = field(default_factory=dict)
    after_state: Mapping[str, tuple[HookType, ...]] = field(default_factory=dict)
    after_flow: Mapping[str, tuple[HookType, ...]] = field(default_factory=dict)
    before_each_action: tuple[HookType, ...] = ()
    after_each_action: tuple[HookType, ...] = ()

    def state(self, name: str) -> StateDefinition:
        try:
            return self.states[name]
        except KeyError:
            raise UnknownStateError(f"state {name!r} is not part of flow {self.name!r}") from None


class UnknownStateError(LookupError):
    """A state name that the flow does not declare (a programming or stored-data error)."""


class SubFlow:
    """A named, reusable group of states with their own hooks."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._states: list[tuple[str, tuple[ActionType, ...]]] = []
        self._subflows: list[SubFlow] = []
        self._before_state: list[tuple[str, tuple[HookType, ...]]] = []
        self._after_state: list[tuple[str, tuple[HookType, ...]]] = []
        self._after_flow: list[tuple[str, tuple[HookType, ...]]] = []

    def state(self, name: str, *actions: ActionType) -> Self:
        self._states.append((name, actions))
        return self

    def subflows(self, *subflows: SubFlow) -> Self:
        self._subflows.extend(subflows)
        return self

    def before_state(self, state: str, *hooks: HookType) -> Self:
        self._before_state.append((state, hooks))
        return self

    def after_state(self, state: str, *hooks: HookType) -> Self:
        self._after_state.append((state, hooks))
        return self

    def after_flow(self, subflow: str, *hooks: HookType) -> Self:
        """Run ``hooks`` when a transition leaves the states owned by ``subflow``."""
        self._after_flow.append((subflow, hooks))
        return self

    def _walk(self) -> Iterable[SubFlow]:
        """This flow, then its sub-flows depth-first, each once."""
        seen: set[str] = set()
        stack: list[SubFlow] = [self]
        while stack:
            flow = stack.pop(0)
            if flow.name in seen:
                continue
            seen.add(flow.name)
            yield flow
            stack = list(flow._subflows) + stack


class Flow(SubFlow):
    """A top-level flow: a sub-flow with initial states, an error state and a lifetime."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._initial: tuple[str, ...] = ()
        self._error_state = "error"
        self._ttl_seconds = 3600
        self._before_each_action: tuple[HookType, ...] = ()
        self._after_each_action: tuple[HookType, ...] = ()

    def initial_states(self, *states: str) -> Self:
        self._initial = states
        return self

    def error_state(self, state: str) -> Self:
        self._error_state = state
        return self

    def ttl(self, seconds: int) -> Self:
        self._ttl_seconds = seconds
        return self

    def before_each_action(self, *hooks: HookType) -> Self:
        """Run before every action executes (a failing hook refuses the action with 403)."""
        self._before_each_action = hooks
        return self

    def after_each_action(self, *hooks: HookType) -> Self:
        """Run after every action that continues the flow, before the next state is entered."""
        self._after_each_action = hooks
        return self

    def build(self) -> FlowDefinition:
        states: dict[str, StateDefinition] = {}
        hooks: dict[str, dict[str, list[HookType]]] = {"before": {}, "after": {}, "flow": {}}
        # Sub-flow hooks first (in the order the sub-flows are listed), then the flow's own;
        # within each, hooks run in the order they are written. Hanko: reverse registration order.
        own, *subflows = self._walk()
        for sub in [*subflows, own]:
            for kind, registrations in (
                ("before", sub._before_state),
                ("after", sub._after_state),
                ("flow", sub._after_flow),
            ):
                for key, hook_types in registrations:
                    bucket = hooks[kind].setdefault(key, [])
                    bucket.extend(h for h in hook_types if h not in bucket)
        for sub in self._walk():
            for name, actions in sub._states:
                states.setdefault(name, StateDefinition(name, actions, sub.name))
        states.setdefault(self._error_state, StateDefinition(self._error_state, (), self.name))
        definition = FlowDefinition(
            name=self.name,
            states=states,
            initial_states=self._initial,
            error_state=self._error_state,
            ttl_seconds=self._ttl_seconds,
            before_state=_freeze(hooks["before"]),
            after_state=_freeze(hooks["after"]),
            after_flow=_freeze(hooks["flow"]),
            before_each_action=self._before_each_action,
            after_each_action=self._after_each_action,
        )
        _check(definition)
        return definition


def _freeze(hooks: dict[str, list[HookType]]) -> dict[str, tuple[HookType, ...]]:
    return {key: tuple(value) for key, value in hooks.items()}


def _check(definition: FlowDefinition) -> None:
    """Fail at import time, not at request time, on declarations that cannot work."""
    if not definition.initial_states:
        raise ValueError(f"flow {definition.name!r} has no initial state")
    for name in definition.initial_states:
        definition.state(name)
    for state in definition.states.values():
        names = [action.name for action in state.actions]
        if len(names) != len(set(names)):
            raise ValueError(f"state {state.name!r} declares an action name twice: {names}")
