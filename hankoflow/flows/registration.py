"""The ``registration`` flow (flow-api.md §4.2): ``POST /registration``.

Nothing is written until ``success``: identifiers, the verified flag, the password hash, new
passkeys, security keys and the TOTP secret wait in the stash, and ``CreateUser`` creates the
account from them in the final step.
"""

from hankoflow import names as n
from hankoflow.actions.registration import RegisterLoginIdentifier
from hankoflow.actions.shared import RememberMe
from hankoflow.actions.thirdparty import ExchangeToken, ThirdPartyOAuth
from hankoflow.engine import Back, Flow
from hankoflow.flows.subflows.capabilities import capabilities
from hankoflow.flows.subflows.credential_onboarding import credential_onboarding
from hankoflow.flows.subflows.credential_usage import credential_usage
from hankoflow.flows.subflows.mfa_creation import mfa_creation
from hankoflow.flows.subflows.user_details import user_details
from hankoflow.hooks.success import (
    CreateUser,
    DetermineRegistrationAMR,
    GetUserData,
    IssueSession,
)
from hankoflow.hooks.thirdparty import PersistThirdPartyEmailVerified

registration = (
    Flow(n.FLOW_REGISTRATION)
    .state(n.STATE_REGISTRATION_INIT, RegisterLoginIdentifier, RememberMe, ThirdPartyOAuth)
    .state(n.STATE_THIRDPARTY, ExchangeToken, Back)
    .state(n.STATE_SUCCESS)
    .state(n.STATE_ERROR)
    .subflows(capabilities, credential_usage, credential_onboarding, user_details, mfa_creation)
    .before_state(n.STATE_SUCCESS, CreateUser, GetUserData, DetermineRegistrationAMR, IssueSession)
    .after_state(n.STATE_PASSCODE_CONFIRMATION, PersistThirdPartyEmailVerified)
    .initial_states(n.STATE_PREFLIGHT, n.STATE_REGISTRATION_INIT)
    .error_state(n.STATE_ERROR)
    .build()
)
