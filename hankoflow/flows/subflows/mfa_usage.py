"""``mfa_usage`` (login only): the second factor (flow-api.md §4.0.6)."""

from hankoflow import names as n
from hankoflow.actions.mfa_usage import (
    ContinueToLoginOtp,
    ContinueToLoginSecurityKey,
    OtpCodeValidate,
    WebauthnGenerateSecurityKeyRequestOptions,
)
from hankoflow.engine import SubFlow

mfa_usage = (
    SubFlow(n.SUBFLOW_MFA_USAGE)
    .state(
        n.STATE_LOGIN_SECURITY_KEY, WebauthnGenerateSecurityKeyRequestOptions, ContinueToLoginOtp
    )
    .state(n.STATE_LOGIN_OTP, OtpCodeValidate, ContinueToLoginSecurityKey)
)
