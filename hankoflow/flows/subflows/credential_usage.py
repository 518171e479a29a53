"""``credential_usage``: how an existing user proves who they are (flow-api.md §4.0.2)."""

from hankoflow import names as n
from hankoflow.actions.credential_usage import (
    ContinueToPasscodeConfirmation,
    ContinueToPasscodeConfirmationRecovery,
    ContinueToPasswordLogin,
    ContinueWithLoginIdentifier,
    PasswordLogin,
    PasswordRecovery,
    ResendPasscode,
    VerifyPasscode,
    WebauthnGenerateRequestOptions,
    WebauthnVerifyAssertionResponse,
)
from hankoflow.actions.shared import RememberMe
from hankoflow.actions.thirdparty import ExchangeToken, ThirdPartyOAuth
from hankoflow.engine import Back, SubFlow
from hankoflow.hooks.passcodes import SendPasscode

credential_usage = (
    SubFlow(n.SUBFLOW_CREDENTIAL_USAGE)
    .state(
        n.STATE_LOGIN_INIT,
        ContinueWithLoginIdentifier,
        WebauthnGenerateRequestOptions,
        WebauthnVerifyAssertionResponse,
        RememberMe,
        ThirdPartyOAuth,
    )
    .state(n.STATE_LOGIN_PASSKEY, WebauthnVerifyAssertionResponse, Back)
    .state(
        n.STATE_LOGIN_METHOD_CHOOSER,
        ContinueToPasswordLogin,
        ContinueToPasscodeConfirmation,
        WebauthnGenerateRequestOptions,
        Back,
    )
    .state(n.STATE_LOGIN_PASSWORD, PasswordLogin, ContinueToPasscodeConfirmationRecovery, Back)
    .state(n.STATE_LOGIN_PASSWORD_RECOVERY, PasswordRecovery)
    .state(n.STATE_PASSCODE_CONFIRMATION, VerifyPasscode, ResendPasscode, Back)
    .state(n.STATE_THIRDPARTY, ExchangeToken, Back)
    .before_state(n.STATE_PASSCODE_CONFIRMATION, SendPasscode)
)
