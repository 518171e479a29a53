"""Actions of the ``credential_usage`` sub-flow: how a user proves who they are (§4.0.2).

One module per concern: identifier.py (the login identifier and the method that follows it),
method_chooser.py (the chooser's password and passcode choices), password.py (password login and
recovery), passcode.py (email passcodes), passkey.py (passkeys).
"""

from hankoflow.actions.credential_usage.identifier import ContinueWithLoginIdentifier
from hankoflow.actions.credential_usage.method_chooser import (
    ContinueToPasscodeConfirmation,
    ContinueToPasswordLogin,
)
from hankoflow.actions.credential_usage.passcode import ResendPasscode, VerifyPasscode
from hankoflow.actions.credential_usage.passkey import (
    WebauthnGenerateRequestOptions,
    WebauthnVerifyAssertionResponse,
    request_passkey,
)
from hankoflow.actions.credential_usage.password import (
    ContinueToPasscodeConfirmationRecovery,
    PasswordLogin,
    PasswordRecovery,
)

__all__ = [
    "ContinueToPasscodeConfirmation",
    "ContinueToPasscodeConfirmationRecovery",
    "ContinueToPasswordLogin",
    "ContinueWithLoginIdentifier",
    "PasswordLogin",
    "PasswordRecovery",
    "ResendPasscode",
    "VerifyPasscode",
    "WebauthnGenerateRequestOptions",
    "WebauthnVerifyAssertionResponse",
    "request_passkey",
]
