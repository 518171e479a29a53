"""Base classes for what flows are made of: actions (visible to clients) and hooks (not).

An action has a two-phase life (flow-api.md §2.4): ``initialize`` declares its inputs or
suspends it, ``execute`` does the work and returns exactly one outcome made by the context
(``continue_to``, ``error``, ``revert``). Hooks run on state transitions (§2.7).

Actions are written against the context they receive, so this module sits above ``context`` and
below ``flow``, whose definitions list action and hook classes.
"""

from __future__ import annotations

from typing import ClassVar

from hankoflow.engine.context import ActionSetup, FlowContext
from hankoflow.engine.outcome import Outcome


class Action:
    """A step a client may take in a state. Subclasses set ``name`` and ``description``."""

    name: ClassVar[str]
    description: ClassVar[str]

    def initialize(self, setup: ActionSetup) -> None:
        """Declare inputs with ``setup.add_input`` or withhold the action with ``setup.suspend``."""

    def execute(self, ctx: FlowContext) -> Outcome:
        raise NotImplementedError


class Hook:
    """Work done on a transition without being visible as an action (e.g. send a passcode)."""

    def run(self, ctx: FlowContext) -> None:
        raise NotImplementedError


class Back(Action):
    """Return to the previous state; offered only when the last transition allows it (§2.8)."""

    name = "back"
    description = "Navigate one step back."

    def initialize(self, setup: ActionSetup) -> None:
        if not setup.stash.can_revert:
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        return ctx.revert()


class Skip(Action):
    """Move on to the next scheduled state without doing anything."""

    name = "skip"
    description = "Skip"

    def execute(self, ctx: FlowContext) -> Outcome:
        return ctx.continue_to()
