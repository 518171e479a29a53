"""The ``login`` flow (flow-api.md §4.1): ``POST /login``."""

from hankoflow import names as n
from hankoflow.engine import Flow
from hankoflow.flows.subflows.capabilities import capabilities
from hankoflow.flows.subflows.credential_onboarding import credential_onboarding
from hankoflow.flows.subflows.credential_usage import credential_usage
from hankoflow.flows.subflows.device_trust import device_trust
from hankoflow.flows.subflows.mfa_creation import mfa_creation
from hankoflow.flows.subflows.mfa_usage import mfa_usage
from hankoflow.flows.subflows.user_details import user_details
from hankoflow.hooks.credentials import CreateEmail, EmailPersistVerifiedStatus, PasswordSave
from hankoflow.hooks.device_trust import IssueTrustDeviceCookie
from hankoflow.hooks.onboarding import ScheduleOnboardingStates
from hankoflow.hooks.success import DetermineLoginAMR, GetUserData, IssueSession
from hankoflow.hooks.webauthn import ConditionalUiRequestOptions, WebauthnCredentialSave

login = (
    Flow(n.FLOW_LOGIN)
    .state(n.STATE_SUCCESS)
    .state(n.STATE_ERROR)
    .subflows(
        capabilities,
        credential_usage,
        credential_onboarding,
        device_trust,
        user_details,
        mfa_creation,
        mfa_usage,
    )
    .before_state(n.STATE_LOGIN_INIT, ConditionalUiRequestOptions)
    .before_state(
        n.STATE_SUCCESS, GetUserData, DetermineLoginAMR, IssueSession, IssueTrustDeviceCookie
    )
    .after_state(n.STATE_ONBOARDING_VERIFY_PASSKEY_ATTESTATION, WebauthnCredentialSave)
    .after_state(n.STATE_PASSCODE_CONFIRMATION, CreateEmail, EmailPersistVerifiedStatus)
    .after_state(n.STATE_PASSWORD_CREATION, PasswordSave)
    .after_state(n.STATE_ONBOARDING_EMAIL, CreateEmail)
    .after_flow(n.SUBFLOW_CREDENTIAL_USAGE, ScheduleOnboardingStates)
    .initial_states(n.STATE_PREFLIGHT, n.STATE_LOGIN_INIT)
    .error_state(n.STATE_ERROR)
    .build()
)
