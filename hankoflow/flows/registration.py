"""The ``registration`` flow (flow-api.md §4.2): ``POST /registration``."""

from hankoflow.actions.shared import RememberMe
from hankoflow.engine import Flow
from hankoflow.flows import names
from hankoflow.flows.subflows.capabilities import capabilities

registration = (
    Flow(names.FLOW_REGISTRATION)
    .state(names.STATE_REGISTRATION_INIT, RememberMe)
    .state(names.STATE_SUCCESS)
    .state(names.STATE_ERROR)
    .subflows(capabilities)
    .initial_states(names.STATE_PREFLIGHT, names.STATE_REGISTRATION_INIT)
    .error_state(names.STATE_ERROR)
    .ttl(24 * 3600)
    .build()
)
