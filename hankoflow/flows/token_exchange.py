"""The ``token_exchange`` flow (flow-api.md §4.4): SAML IdP-initiated sign-in.

It requires SAML, which is not built; the transport answers 403 ``forbidden`` while
``SAML.ENABLED`` is off, exactly as Hanko does.
"""

from hankoflow import names
from hankoflow.engine import Flow

token_exchange = (
    Flow(names.FLOW_TOKEN_EXCHANGE)
    .state(names.STATE_THIRDPARTY)
    .state(names.STATE_SUCCESS)
    .state(names.STATE_ERROR)
    .initial_states(names.STATE_THIRDPARTY)
    .error_state(names.STATE_ERROR)
    .ttl(3600)  # Hanko's fixed hour: the one flow that FLOW.TTL does not set
    .build()
)
