"""What a step can come to: the outcomes ``Action.execute`` returns, and a hook's refusal.

The bottom of the engine: actions, contexts and the executor all speak these, so they sit below
each of them (flow-api.md §2.6).
"""

from __future__ import annotations

from dataclasses import dataclass

from hankoflow.engine.errors import FlowError


@dataclass(frozen=True)
class Continue:
    states: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fail:
    error: FlowError


@dataclass(frozen=True)
class Revert:
    pass


Outcome = Continue | Fail | Revert


class StepRefused(Exception):  # noqa: N818 - reads as what happened, like Django's PermissionDenied
    """Raised by a hook that finds the step cannot complete (e.g. the email was taken meanwhile).

    The step then ends as ``ctx.error(error)`` from the state the action ran in: stash changes are
    discarded, database work done before the refusal is kept (as for any failed step).
    """

    def __init__(self, error: FlowError) -> None:
        super().__init__(error.code)
        self.error = error
