"""The ``token_exchange`` flow (flow-api.md §4.4): redeem a one-time third-party token.

Hanko starts it for SAML IdP-initiated sign-ins; it works the same for an OAuth token. Its own
``thirdparty`` state offers ``exchange_token`` without ``back``; the flow then verifies the
address if needed, asks for missing identifiers and issues the session.
"""

from hankoflow import names as n
from hankoflow.actions.thirdparty import ExchangeToken
from hankoflow.engine import Flow
from hankoflow.flows.subflows.credential_usage import credential_usage
from hankoflow.flows.subflows.user_details import user_details
from hankoflow.hooks.credentials import EmailPersistVerifiedStatus
from hankoflow.hooks.success import DetermineLoginAMR, GetUserData, IssueSession

token_exchange = (
    Flow(n.FLOW_TOKEN_EXCHANGE)
    .state(n.STATE_THIRDPARTY, ExchangeToken)
    .state(n.STATE_SUCCESS)
    .state(n.STATE_ERROR)
    .subflows(credential_usage, user_details)
    .before_state(n.STATE_SUCCESS, GetUserData, DetermineLoginAMR, IssueSession)
    .after_state(n.STATE_PASSCODE_CONFIRMATION, EmailPersistVerifiedStatus)
    .initial_states(n.STATE_THIRDPARTY)
    .error_state(n.STATE_ERROR)
    .ttl(3600)  # Hanko's fixed hour: the one flow that FLOW.TTL does not set
    .build()
)
