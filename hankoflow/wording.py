"""The words of a flow for people, whatever renders it: a heading and a short sentence per
state, a label per action and input, a sentence per error code (``hankoflow/errors.py``).

Both the HTML page (``web/texts.py``) and the Flow Execution dialect
(``renderers/flow_execution.py``) read them, so one msgid has one translation in the
shipped catalogues (``hankoflow/locale/``, the nine languages of the emails). A name not listed
falls back to Hanko's English description or the humanised wire name.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from hankoflow import errors, names
from hankoflow.engine import Back, Skip

Text = str | Promise

# state -> (heading, sentence). ``(flow, state)`` keys win over ``state`` keys.
STATE_TEXTS: dict[str | tuple[str, str], tuple[Text, Text]] = {
    names.STATE_PREFLIGHT: (_("One moment"), _("Checking what your browser supports…")),
    names.STATE_LOGIN_INIT: (_("Sign in"), _("Welcome back. Sign in to your account.")),
    names.STATE_REGISTRATION_INIT: (
        _("Create an account"),
        _("Enter your details to get started."),
    ),
    names.STATE_LOGIN_PASSKEY: (
        _("Sign in with a passkey"),
        _("Follow your browser’s prompt to use your passkey."),
    ),
    names.STATE_LOGIN_METHOD_CHOOSER: (
        _("How do you want to sign in?"),
        _("Choose one of the ways below."),
    ),
    names.STATE_LOGIN_PASSWORD: (_("Enter your password"), _("Type your account’s password.")),
    names.STATE_LOGIN_PASSWORD_RECOVERY: (
        _("Set a new password"),
        _("Choose a new password for your account."),
    ),
    names.STATE_PASSCODE_CONFIRMATION: (
        _("Check your email"),
        _("We sent a code to your email address. Enter it below; it is valid for a few minutes."),
    ),
    names.STATE_CREDENTIAL_ONBOARDING_CHOOSER: (
        _("Secure your account"),
        _("Choose how you want to sign in next time."),
    ),
    names.STATE_ONBOARDING_CREATE_PASSKEY: (
        _("Create a passkey"),
        _("With a passkey you sign in with your fingerprint, face or screen lock. No password."),
    ),
    names.STATE_ONBOARDING_VERIFY_PASSKEY_ATTESTATION: (
        _("Create a passkey"),
        _("Follow your browser’s prompt to create your passkey."),
    ),
    names.STATE_PASSWORD_CREATION: (_("Set a password"), _("Choose a password for your account.")),
    names.STATE_ONBOARDING_USERNAME: (
        _("Choose a username"),
        _("You can sign in with it later."),
    ),
    names.STATE_ONBOARDING_EMAIL: (
        _("Add an email address"),
        _("We send sign-in codes to this address."),
    ),
    names.STATE_MFA_METHOD_CHOOSER: (
        _("Add a second factor"),
        _("A second step when you sign in keeps your account safe, even if your password leaks."),
    ),
    names.STATE_MFA_OTP_SECRET_CREATION: (
        _("Set up an authenticator app"),
        _(
            "Scan the QR code with your authenticator app or type in the key, then enter the code "
            "the app shows."
        ),  # fmt: skip
    ),
    names.STATE_MFA_SECURITY_KEY_CREATION: (
        _("Add a security key"),
        _("Insert or touch your security key when your browser asks."),
    ),
    names.STATE_LOGIN_SECURITY_KEY: (
        _("Use your security key"),
        _("Confirm it is you with your security key."),
    ),
    names.STATE_LOGIN_OTP: (
        _("Enter your authentication code"),
        _("Open your authenticator app and enter the code it shows."),
    ),
    names.STATE_DEVICE_TRUST: (
        _("Trust this device?"),
        _("On a trusted device we will not ask for your second factor for a while."),
    ),
    (names.FLOW_LOGIN, names.STATE_SUCCESS): (_("You’re signed in"), _("Welcome back.")),
    (names.FLOW_REGISTRATION, names.STATE_SUCCESS): (
        _("Your account is ready"),
        _("You’re signed in."),
    ),
    names.STATE_SUCCESS: (_("All done"), _("This step is complete.")),
    names.STATE_PROFILE_INIT: (
        _("Your account"),
        _("Manage how you sign in: email addresses, password, passkeys and sessions."),
    ),
    # Re-authentication before a sensitive change uses the login states.
    (names.FLOW_PROFILE, names.STATE_LOGIN_PASSWORD): (
        _("Confirm it’s you"),
        _("Enter your password to make this change."),
    ),
    (names.FLOW_PROFILE, names.STATE_LOGIN_PASSKEY): (
        _("Confirm it’s you"),
        _("Follow your browser’s prompt to use your passkey, then make the change again."),
    ),
    names.STATE_WEBAUTHN_CREDENTIAL_VERIFICATION: (
        _("Create a passkey"),
        _("Follow your browser’s prompt to create your passkey or register your security key."),
    ),
    names.STATE_ACCOUNT_DELETED: (
        _("Your account is deleted"),
        _("We deleted your account and signed you out."),
    ),
    names.STATE_ERROR: (
        _("Something went wrong"),
        _("This cannot continue. Please start again."),
    ),
    names.STATE_THIRDPARTY: (
        _("Continue with your provider"),
        _("We are taking you to your provider to sign in."),
    ),
    # The flows beyond Hanko (issue 15).
    names.STATE_PASSWORD_RECOVERY_INIT: (
        _("Reset your password"),
        _("Enter your email address. We will send you a code to set a new password."),
    ),
    names.STATE_PASSWORD_CHANGED: (_("Password changed"), _("Sign in with your new password.")),
    names.STATE_INVITED_REGISTRATION_INIT: (
        _("Accept your invitation"),
        _("Enter your email address and the code from your invitation."),
    ),
}
UNKNOWN_STATE_TEXT: tuple[Text, Text] = (_("Continue"), "")

# action -> button text; ``(state, action)`` keys win over ``action`` keys.
ACTION_LABELS: dict[str | tuple[str, str], Text] = {
    names.ACTION_REGISTER_CLIENT_CAPABILITIES: _("Continue"),
    names.ACTION_CONTINUE_WITH_LOGIN_IDENTIFIER: _("Continue"),
    names.ACTION_REGISTER_LOGIN_IDENTIFIER: _("Continue"),
    names.ACTION_WEBAUTHN_GENERATE_REQUEST_OPTIONS: _("Sign in with a passkey"),
    names.ACTION_WEBAUTHN_VERIFY_ASSERTION_RESPONSE: _("Continue"),
    names.ACTION_WEBAUTHN_GENERATE_CREATION_OPTIONS: _("Create a passkey"),
    names.ACTION_WEBAUTHN_VERIFY_ATTESTATION_RESPONSE: _("Continue"),
    names.ACTION_REMEMBER_ME: _("Save"),
    names.ACTION_CONTINUE_TO_PASSWORD_LOGIN: _("Sign in with a password"),
    names.ACTION_CONTINUE_TO_PASSCODE_CONFIRMATION: _("Email me a sign-in code"),
    names.ACTION_CONTINUE_TO_PASSCODE_CONFIRMATION_RECOVERY: _("Forgot your password?"),
    names.ACTION_PASSWORD_LOGIN: _("Sign in"),
    names.ACTION_PASSWORD_RECOVERY: _("Save password"),
    names.ACTION_VERIFY_PASSCODE: _("Confirm"),
    names.ACTION_RESEND_PASSCODE: _("Send a new code"),
    names.ACTION_REGISTER_PASSWORD: _("Save password"),
    names.ACTION_USERNAME_CREATE: _("Save username"),
    names.ACTION_EMAIL_ADDRESS_SET: _("Save email address"),
    names.ACTION_CONTINUE_TO_PASSKEY_REGISTRATION: _("Create a passkey"),
    names.ACTION_CONTINUE_TO_PASSWORD_REGISTRATION: _("Set a password"),
    names.ACTION_CONTINUE_TO_OTP_SECRET_CREATION: _("Use an authenticator app"),
    names.ACTION_CONTINUE_TO_SECURITY_KEY_CREATION: _("Use a security key"),
    names.ACTION_OTP_CODE_VERIFY: _("Confirm"),
    names.ACTION_OTP_CODE_VALIDATE: _("Confirm"),
    names.ACTION_CONTINUE_TO_LOGIN_OTP: _("Use your authenticator app instead"),
    names.ACTION_CONTINUE_TO_LOGIN_SECURITY_KEY: _("Use your security key instead"),
    names.ACTION_TRUST_DEVICE: _("Trust this device"),
    names.ACTION_ACCOUNT_DELETE: _("Delete account"),
    names.ACTION_EMAIL_CREATE: _("Add email address"),
    names.ACTION_EMAIL_DELETE: _("Delete"),
    names.ACTION_EMAIL_SET_PRIMARY: _("Make primary"),
    names.ACTION_EMAIL_VERIFY: _("Verify"),
    names.ACTION_OTP_SECRET_DELETE: _("Remove authenticator app"),
    names.ACTION_PASSWORD_CREATE: _("Set password"),
    names.ACTION_PASSWORD_UPDATE: _("Change password"),
    names.ACTION_PASSWORD_DELETE: _("Remove password"),
    names.ACTION_PATCH_METADATA: _("Save"),
    names.ACTION_SECURITY_KEY_CREATE: _("Add a security key"),
    names.ACTION_SECURITY_KEY_DELETE: _("Remove"),
    names.ACTION_USERNAME_UPDATE: _("Change username"),
    names.ACTION_USERNAME_DELETE: _("Remove username"),
    names.ACTION_WEBAUTHN_CREDENTIAL_CREATE: _("Create a passkey"),
    names.ACTION_WEBAUTHN_CREDENTIAL_DELETE: _("Delete"),
    names.ACTION_WEBAUTHN_CREDENTIAL_RENAME: _("Rename"),
    names.ACTION_SESSION_DELETE: _("Sign out"),
    names.ACTION_DISCONNECT_THIRDPARTY_OAUTH_PROVIDER: _("Disconnect"),
    names.ACTION_THIRDPARTY_OAUTH: _("Continue with a provider"),
    names.ACTION_CONNECT_THIRDPARTY_OAUTH_PROVIDER: _("Connect an account"),
    names.ACTION_EXCHANGE_TOKEN: _("Continue"),
    (names.STATE_PROFILE_INIT, names.ACTION_CONTINUE_TO_OTP_SECRET_CREATION): _(
        "Set up an authenticator app"
    ),
    (names.STATE_PROFILE_INIT, names.ACTION_USERNAME_CREATE): _("Set username"),
    Skip.name: _("Skip for now"),
    Back.name: _("Back"),
    (names.STATE_LOGIN_SECURITY_KEY, names.ACTION_WEBAUTHN_GENERATE_REQUEST_OPTIONS): _(
        "Use security key"
    ),
    (names.STATE_MFA_SECURITY_KEY_CREATION, names.ACTION_WEBAUTHN_GENERATE_CREATION_OPTIONS): _(
        "Register security key"
    ),
    (names.STATE_DEVICE_TRUST, Skip.name): _("Not now"),
    names.ACTION_CONTINUE_WITH_RECOVERY_IDENTIFIER: _("Continue"),  # beyond Hanko (issue 15)
    names.ACTION_REDEEM_INVITATION: _("Continue"),
}

# input name -> field label; ``(state, input)`` keys win over ``input`` keys.
INPUT_LABELS: dict[str | tuple[str, str], Text] = {
    "email": _("Email address"),
    "username": _("Username"),
    "identifier": _("Email address or username"),
    "password": _("Password"),
    "new_password": _("New password"),
    "code": _("Code from the email"),
    "otp_code": _("Code from your authenticator app"),
    "remember_me": _("Stay signed in on this device"),
    "passkey_name": _("Passkey name"),
    "patch_metadata": _("Metadata (JSON)"),
    # The profile sets a new password; it never asks for the current one.
    (names.STATE_PROFILE_INIT, "password"): _("New password"),
    (names.STATE_INVITED_REGISTRATION_INIT, "code"): _("Invitation code"),  # beyond Hanko
}

# error code -> what the person reads. ``(input, code)`` keys win over ``code`` keys.
ERROR_MESSAGES: dict[str | tuple[str, str], Text] = {
    errors.TECHNICAL.code: _("Something went wrong on our side. Please try again."),
    errors.FLOW_EXPIRED.code: _("This page has expired. Please start again."),
    errors.FLOW_DISCONTINUITY.code: _("This step cannot be continued. Please start again."),
    errors.OPERATION_NOT_PERMITTED.code: _("That is not possible at this step."),
    errors.FORM_DATA_INVALID.code: _("Please check what you entered."),
    errors.NOT_FOUND.code: _("We could not find what you were looking for."),
    errors.PASSCODE_MAX_ATTEMPTS_REACHED.code: _(
        "The code was entered wrong too many times. Ask for a new code."
    ),
    errors.PASSKEY_INVALID.code: _(
        "This passkey could not be used. Try again or choose another way."
    ),
    errors.RATE_LIMIT_EXCEEDED.code: _("Too many attempts. Please wait a moment and try again."),
    errors.UNAUTHORIZED.code: _("Your session has ended. Please sign in again."),
    errors.WEBAUTHN_CREDENTIAL_INVALID_MFA_ONLY.code: _(
        "This security key can only be used as a second factor."
    ),
    errors.PLATFORM_AUTHENTICATOR_REQUIRED.code: _(
        "This device or browser cannot create the passkey needed here."
    ),
    errors.FORBIDDEN.code: _("This is not allowed here."),
    errors.VALUE_MISSING.code: _("Please fill in this field."),
    errors.VALUE_INVALID.code: _("This value is not valid."),
    errors.VALUE_TOO_LONG.code: _("This is too long."),
    errors.VALUE_TOO_SHORT.code: _("This is too short."),
    errors.EMAIL_ALREADY_EXISTS.code: _("This email address is already in use."),
    errors.USERNAME_ALREADY_EXISTS.code: _("This username is already taken."),
    errors.UNKNOWN_USERNAME.code: _("We do not know this username."),
    errors.UNKNOWN_EMAIL.code: _("We do not know this email address."),
    errors.INVALID_USERNAME.code: _("This username is not valid."),
    errors.PASSCODE_INVALID.code: _("This code is not correct. Check the email and try again."),
    errors.OTP_CODE_INVALID.code: _(
        "This code is not correct. Enter the current code from your app."
    ),
    errors.OTP_CODE_ALREADY_USED.code: _(
        "This code was already used. Wait for the next code in your app."
    ),
    errors.INVALID_METADATA.code: _("The data sent is not valid."),
    ("password", errors.VALUE_INVALID.code): _("Wrong password. Try again or reset it."),
    ("email", errors.VALUE_INVALID.code): _("Enter a valid email address."),
}


def state_text(flow: str, state: str) -> tuple[Text, Text]:
    """The heading and the sentence of ``state`` in ``flow``."""
    return STATE_TEXTS.get((flow, state)) or STATE_TEXTS.get(state) or UNKNOWN_STATE_TEXT


def action_label(state: str, action: str, description: str = "") -> Text:
    """The button text of ``action`` on ``state``; Hanko's description for unknown actions."""
    known = ACTION_LABELS.get((state, action)) or ACTION_LABELS.get(action)
    return known or description.strip().rstrip(".") or humanize(action)


def input_label(name: str, state: str = "") -> Text:
    return INPUT_LABELS.get((state, name)) or INPUT_LABELS.get(name) or humanize(name)


def error_sentence(code: str, input_name: str = "") -> Text | None:
    """The sentence for an error code (on ``input_name``), or None for a code not listed."""
    return ERROR_MESSAGES.get((input_name, code)) or ERROR_MESSAGES.get(code)


def humanize(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()
