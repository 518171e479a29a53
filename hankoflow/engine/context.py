"""What actions and hooks see while a request runs, and the primitives that make their outcomes.

``FlowContext`` gives access to the stash, the per-request payload, the facts of the request
behind the step (``RequestFacts``: put there by the transport, opaque to the engine) and the
continuation primitives of flow-api.md §2.6. ``ActionSetup`` is the narrower view an action's
``initialize`` gets.

A context knows its flow only through ``FlowOutline`` (a name and a state lookup), so this module
sits below the actions and the flow definitions that list them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from hankoflow.engine import errors
from hankoflow.engine.errors import FlowError, InputError
from hankoflow.engine.inputs import MISSING, Input
from hankoflow.engine.outcome import Continue, Fail, Revert
from hankoflow.engine.request import RequestFacts
from hankoflow.engine.stash import Stash


class FlowOutline(Protocol):
    """What a context needs of its flow (``FlowDefinition`` has it)."""

    @property
    def name(self) -> str: ...

    def state(self, name: str, /) -> object:
        """Look a state up; raise ``UnknownStateError`` for a name the flow does not declare."""
        ...


class _Base:
    def __init__(
        self,
        flow: FlowOutline,
        flow_id: str,
        stash: Stash,
        env: RequestFacts | None,
        payload: dict[str, Any],
    ) -> None:
        self.flow = flow
        self.flow_id = flow_id
        self.stash = stash
        self.env = env
        self.payload = payload

    @property
    def flow_name(self) -> str:
        return self.flow.name

    @property
    def current_state(self) -> str:
        return self.stash.state

    def is_flow(self, *names: str) -> bool:
        return self.flow.name in names


class ActionSetup(_Base):
    """Passed to ``Action.initialize``: declare inputs or suspend; never read input values."""

    def __init__(
        self, *args: Any, flow_error: FlowError | None = None, memo: dict[str, Any] | None = None
    ) -> None:
        super().__init__(*args)
        self.inputs: dict[str, Input] = {}
        self.suspended = False
        self.flow_error = flow_error
        # The step's per-request cache (``FlowContext.memo``): what the hooks loaded, read-only
        # here, e.g. the profile flow's session user.
        self.memo: dict[str, Any] = memo if memo is not None else {}

    def add_input(self, *inputs: Input) -> None:
        for item in inputs:
            self.inputs[item.name] = item

    def suspend(self) -> None:
        self.suspended = True


@dataclass
class Effects:
    """Side effects for the transport to apply to the HTTP response (cookies, headers)."""

    items: list[Any] = field(default_factory=list)

    def add(self, effect: Any) -> None:
        self.items.append(effect)


class FlowContext(_Base):
    """Passed to ``Action.execute`` and ``Hook.run``."""

    def __init__(
        self,
        flow: FlowOutline,
        flow_id: str,
        stash: Stash,
        env: RequestFacts | None,
        *,
        inputs: dict[str, Input] | None = None,
        input_data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(flow, flow_id, stash, env, {})
        self.inputs = inputs or {}
        self.input_data = input_data or {}
        self.flow_error: FlowError | None = None
        self.effects = Effects()
        self.scheduled_now: list[str] = []  # states scheduled during this request
        self.revert_prevented = False
        self.memo: dict[str, Any] = {}  # per-request cache for actions and hooks

    # --- inputs --------------------------------------------------------------------------------

    def validate_inputs(self) -> bool:
        """Normalise and validate every declared input; all are checked, none short-circuits."""
        valid = True
        for item in self.inputs.values():
            item.normalize()
            valid = item.validate() and valid
        return valid

    def input(self, name: str, default: Any = None) -> Any:
        """The (normalised) value of a declared input, or of an undeclared key of input_data."""
        item = self.inputs.get(name)
        value = item.value if item is not None else self.input_data.get(name, MISSING)
        return default if value is MISSING else value

    def input_error(self, name: str, error: InputError) -> Fail:
        """Attach ``error`` to one input and answer the same state with 400."""
        if name in self.inputs:
            self.inputs[name].error = error
        return Fail(errors.FORM_DATA_INVALID)

    # --- continuation primitives (flow-api.md §2.6) --------------------------------------------

    def continue_to(self, *states: str) -> Continue:
        """Go to ``states`` in order, then to whatever was scheduled before; none = next one."""
        return Continue(states)

    def error(self, error: FlowError) -> Fail:
        """4xx: stay in the state, discarding this request's stash changes; 5xx: error state."""
        return Fail(error)

    def revert(self) -> Revert:
        return Revert()

    def set_flow_error(self, error: FlowError) -> None:
        """Attach an error to the response without changing the transition."""
        self.flow_error = error

    def prevent_revert(self) -> None:
        """The next state will not offer ``back`` (e.g. after something was verified)."""
        self.revert_prevented = True

    def schedule(self, *states: str) -> None:
        """Queue states after those named by the action's ``continue_to`` (for hooks)."""
        for name in states:
            self.flow.state(name)
        self.scheduled_now.extend(states)
