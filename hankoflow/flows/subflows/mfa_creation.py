"""``mfa_creation``: enrol an authenticator app or a security key (flow-api.md §4.0.5)."""

from hankoflow import names as n
from hankoflow.actions.mfa_creation import (
    ContinueToOtpSecretCreation,
    ContinueToSecurityKeyCreation,
    OtpCodeVerify,
    SkipMfaCreation,
    WebauthnGenerateSecurityKeyCreationOptions,
)
from hankoflow.engine import Back, SubFlow
from hankoflow.hooks.mfa import OTPSecretGenerate

mfa_creation = (
    SubFlow(n.SUBFLOW_MFA_CREATION)
    .state(
        n.STATE_MFA_METHOD_CHOOSER,
        ContinueToOtpSecretCreation,
        ContinueToSecurityKeyCreation,
        SkipMfaCreation,
        Back,
    )
    .state(n.STATE_MFA_OTP_SECRET_CREATION, OtpCodeVerify, Back)
    .state(n.STATE_MFA_SECURITY_KEY_CREATION, WebauthnGenerateSecurityKeyCreationOptions, Back)
    .before_state(n.STATE_MFA_OTP_SECRET_CREATION, OTPSecretGenerate)
)
