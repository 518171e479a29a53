"""The ``profile`` flow (flow-api.md §4.3): ``POST /profile``, for a signed-in user only.

Every request needs a valid session; until sessions exist every request is refused with
``unauthorized`` by the transport, before this flow runs.
"""

from hankoflow import names
from hankoflow.engine import Flow
from hankoflow.flows.subflows.capabilities import capabilities

profile = (
    Flow(names.FLOW_PROFILE)
    .state(names.STATE_PROFILE_INIT)
    .state(names.STATE_ERROR)
    .subflows(capabilities)
    .initial_states(names.STATE_PREFLIGHT, names.STATE_PROFILE_INIT)
    .error_state(names.STATE_ERROR)
    .build()
)
