"""The ``login`` flow (flow-api.md §4.1): ``POST /login``."""

from hankoflow.engine import Flow
from hankoflow.flows import names
from hankoflow.flows.subflows.capabilities import capabilities
from hankoflow.flows.subflows.credential_usage import credential_usage

login = (
    Flow(names.FLOW_LOGIN)
    .state(names.STATE_SUCCESS)
    .state(names.STATE_ERROR)
    .subflows(capabilities, credential_usage)
    .initial_states(names.STATE_PREFLIGHT, names.STATE_LOGIN_INIT)
    .error_state(names.STATE_ERROR)
    .ttl(24 * 3600)
    .build()
)
