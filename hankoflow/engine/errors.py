"""The flow engine's own errors: the two kinds of error and the generic codes (flow-api.md §3).

A flow-level error travels with its HTTP status; an input-level error is attached to one input
and always comes with ``FORM_DATA_INVALID``. These are the codes the engine itself answers with
(expired flows, wrong CSRF tokens, input validation); ``hankoflow/errors.py`` adds the domain
codes of Hanko's flows and is the catalogue everything else reads. Messages are Hanko's English
texts, reproduced verbatim because clients may show them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class FlowError:
    """An error attached to the whole state (the ``error`` key of a state object)."""

    code: str
    message: str
    status: int
    cause: str | None = None

    def with_cause(self, cause: str) -> FlowError:
        return dataclasses.replace(self, cause=cause)

    def with_status(self, status: int) -> FlowError:
        return dataclasses.replace(self, status=status)


@dataclass(frozen=True)
class InputError:
    """An error attached to one input of the executed action."""

    code: str
    message: str
    cause: str | None = None

    def with_cause(self, cause: str) -> InputError:
        return dataclasses.replace(self, cause=cause)


TECHNICAL = FlowError("technical_error", "Something went wrong.", 500)
FLOW_EXPIRED = FlowError("flow_expired_error", "The flow has expired.", 410)
FLOW_DISCONTINUITY = FlowError("flow_discontinuity_error", "The flow can't be continued.", 500)
OPERATION_NOT_PERMITTED = FlowError(
    "operation_not_permitted_error", "The operation is not permitted.", 403
)
FORM_DATA_INVALID = FlowError("form_data_invalid_error", "Form data invalid.", 400)

VALUE_MISSING = InputError("value_missing_error", "The value is missing.")
VALUE_INVALID = InputError("value_invalid_error", "The value is invalid.")
VALUE_TOO_LONG = InputError("value_too_long_error", "The value is too long.")
VALUE_TOO_SHORT = InputError("value_too_short_error", "The value is too short.")


def value_not_allowed(allowed: list[str]) -> InputError:
    """The allowed-values failure, whose message lists the allowed values (flow-api.md §2.5.3)."""
    return dataclasses.replace(
        VALUE_INVALID, message=f"The value is invalid. Must be one of: {','.join(allowed)}"
    )
