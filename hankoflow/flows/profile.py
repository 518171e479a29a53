"""The ``profile`` flow (flow-api.md §4.3): ``POST /profile``, for a signed-in user only.

Every request needs a valid session (the transport refuses one without: ``unauthorized``). The
flow is bound to the session's account when it starts and re-checks it before every action
(``hooks/profile.py``). ``passcode_confirmation`` (verifying a new address) and
``mfa_otp_secret_creation`` come from the shared sub-flows, as in Hanko.
"""

from hankoflow import names as n
from hankoflow.actions.profile.account import AccountDelete, SessionDelete
from hankoflow.actions.profile.emails import (
    EmailCreate,
    EmailDelete,
    EmailSetPrimary,
    EmailVerify,
)
from hankoflow.actions.profile.identifiers import (
    PasswordCreate,
    PasswordDelete,
    PasswordUpdate,
    PatchMetadata,
    UsernameCreate,
    UsernameDelete,
    UsernameUpdate,
)
from hankoflow.actions.profile.mfa import ContinueToOtpSecretCreation, OtpSecretDelete
from hankoflow.actions.profile.webauthn import (
    SecurityKeyCreate,
    SecurityKeyDelete,
    WebauthnCredentialCreate,
    WebauthnCredentialDelete,
    WebauthnCredentialRename,
    WebauthnVerifyAttestationResponse,
)
from hankoflow.engine import Back, Flow
from hankoflow.flows.subflows.capabilities import capabilities
from hankoflow.flows.subflows.credential_usage import credential_usage
from hankoflow.flows.subflows.mfa_creation import mfa_creation
from hankoflow.hooks.credentials import EmailPersistVerifiedStatus
from hankoflow.hooks.profile import (
    BindSessionUser,
    GetProfileData,
    GetSessions,
    RefreshSessionUser,
)
from hankoflow.hooks.webauthn import WebauthnCredentialSave

profile = (
    Flow(n.FLOW_PROFILE)
    .state(
        n.STATE_PROFILE_INIT,
        AccountDelete,
        ContinueToOtpSecretCreation,
        EmailCreate,
        EmailDelete,
        EmailSetPrimary,
        EmailVerify,
        OtpSecretDelete,
        PasswordCreate,
        PasswordDelete,
        PasswordUpdate,
        PatchMetadata,
        SecurityKeyCreate,
        SecurityKeyDelete,
        UsernameCreate,
        UsernameDelete,
        UsernameUpdate,
        WebauthnCredentialCreate,
        WebauthnCredentialDelete,
        SessionDelete,
        WebauthnCredentialRename,
    )
    .state(n.STATE_WEBAUTHN_CREDENTIAL_VERIFICATION, WebauthnVerifyAttestationResponse, Back)
    .state(n.STATE_ACCOUNT_DELETED)
    .state(n.STATE_ERROR)
    .subflows(capabilities, credential_usage, mfa_creation)
    .before_state(n.STATE_PREFLIGHT, BindSessionUser)
    .before_state(n.STATE_PROFILE_INIT, BindSessionUser, GetSessions, GetProfileData)
    .after_state(n.STATE_WEBAUTHN_CREDENTIAL_VERIFICATION, WebauthnCredentialSave)
    .after_state(n.STATE_PASSCODE_CONFIRMATION, EmailPersistVerifiedStatus)
    .before_each_action(RefreshSessionUser)
    .initial_states(n.STATE_PREFLIGHT, n.STATE_PROFILE_INIT)
    .error_state(n.STATE_ERROR)
    .build()
)
