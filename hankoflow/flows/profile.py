"""The ``profile`` flow (flow-api.md §4.3): ``POST /profile``, for a signed-in user only.

Every request needs a valid session (the transport refuses one without: ``unauthorized``). The
flow is bound to the session's account when it starts and re-checks it before every action
(``hooks/profile.py``). ``passcode_confirmation`` (verifying a new address) and
``mfa_otp_secret_creation`` come from the shared sub-flows, as in Hanko; ``thirdparty`` is the
profile's own (its ``exchange_token`` confirms a connected identity, ``actions/profile/
thirdparty.py``).

Hanko: its profile never asks the person to prove who they are again. Here a sensitive change in
an older session first goes through Hanko's own login states (``login_passkey``,
``login_password``, ``passcode_confirmation``, then ``login_security_key``/``login_otp`` when the
session had a second factor), declared below with re-authentication actions of the same wire
names (``actions/profile/reauthentication.py``). They come before the sub-flows: the first
declaration of a state name wins.
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
from hankoflow.actions.profile.reauthentication import (
    ReauthBack,
    ReauthContinueToLoginOtp,
    ReauthContinueToLoginSecurityKey,
    ReauthOtpCodeValidate,
    ReauthPasswordLogin,
    ReauthWebauthnGenerateRequestOptions,
    ReauthWebauthnVerifyAssertionResponse,
)
from hankoflow.actions.profile.thirdparty import (
    ConnectThirdPartyOAuthProvider,
    DisconnectThirdPartyOAuthProvider,
    ProfileExchangeToken,
)
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
from hankoflow.hooks.reauthentication import CompletePasscodeReauthentication
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
        ConnectThirdPartyOAuthProvider,
        DisconnectThirdPartyOAuthProvider,
    )
    .state(n.STATE_WEBAUTHN_CREDENTIAL_VERIFICATION, WebauthnVerifyAttestationResponse, Back)
    # The profile's own thirdparty state (§4.3.3): before credential_usage's, which would win.
    .state(n.STATE_THIRDPARTY, ProfileExchangeToken, Back)
    .state(n.STATE_ACCOUNT_DELETED)
    .state(n.STATE_ERROR)
    # Re-authentication (beyond Hanko): before the sub-flows, whose login states would win.
    .state(n.STATE_LOGIN_PASSKEY, ReauthWebauthnVerifyAssertionResponse, ReauthBack)
    .state(n.STATE_LOGIN_PASSWORD, ReauthPasswordLogin, ReauthBack)
    .state(
        n.STATE_LOGIN_SECURITY_KEY,
        ReauthWebauthnGenerateRequestOptions,
        ReauthContinueToLoginOtp,
        ReauthBack,
    )
    .state(n.STATE_LOGIN_OTP, ReauthOtpCodeValidate, ReauthContinueToLoginSecurityKey, ReauthBack)
    .subflows(capabilities, credential_usage, mfa_creation)
    .before_state(n.STATE_PREFLIGHT, BindSessionUser)
    .before_state(n.STATE_PROFILE_INIT, BindSessionUser, GetSessions, GetProfileData)
    .after_state(n.STATE_WEBAUTHN_CREDENTIAL_VERIFICATION, WebauthnCredentialSave)
    .after_state(
        n.STATE_PASSCODE_CONFIRMATION, EmailPersistVerifiedStatus, CompletePasscodeReauthentication
    )
    .before_each_action(RefreshSessionUser)
    .initial_states(n.STATE_PREFLIGHT, n.STATE_PROFILE_INIT)
    .error_state(n.STATE_ERROR)
    .build()
)
