"""The neutral outcome of one request, which each wire format renders its own way.

Nothing here knows Hanko's JSON: ``hankoflow.renderers.hanko`` turns a ``FlowResult`` into the
Flow API state object, and a second dialect can render the same result differently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hankoflow.engine.errors import FlowError
from hankoflow.engine.inputs import Input


@dataclass(frozen=True)
class ActionView:
    name: str
    description: str
    inputs: tuple[Input, ...]


@dataclass(frozen=True)
class FlowResult:
    flow_name: str
    state: str
    status: int
    csrf_token: str
    flow_id: str | None = None
    payload: dict[str, Any] | None = None  # None only for early errors
    actions: tuple[ActionView, ...] = ()
    error: FlowError | None = None
    effects: tuple[Any, ...] = field(default=())

    @property
    def is_early_error(self) -> bool:
        """Answered without touching the flow: no payload, no token, no actions (§1.6.4)."""
        return self.payload is None
