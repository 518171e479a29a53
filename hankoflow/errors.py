"""The single catalogue of Flow API error codes (flow-api.md §3).

Every wire error code string lives here and nowhere else. Flow-level errors carry their HTTP
status; input-level errors are attached to one input and always travel with
``FORM_DATA_INVALID``. Messages are Hanko's English texts, reproduced verbatim because clients
may show them.

The two error types and the generic codes the engine answers with live in
``hankoflow/engine/errors.py`` (the engine imports nothing above itself); they are re-exported
here, so this module stays the one catalogue that flows, actions and transports read.
"""

from __future__ import annotations

# Re-exported: the engine's generic codes belong to the one catalogue too.
from hankoflow.engine.errors import (  # noqa: F401
    FLOW_DISCONTINUITY,
    FLOW_EXPIRED,
    FORM_DATA_INVALID,
    OPERATION_NOT_PERMITTED,
    TECHNICAL,
    VALUE_INVALID,
    VALUE_MISSING,
    VALUE_TOO_LONG,
    VALUE_TOO_SHORT,
    FlowError,
    InputError,
    value_not_allowed,
)

# --- Flow-level errors (flow-api.md §3.1) -------------------------------------------------------

NOT_FOUND = FlowError("not_found", "The requested resource was not found.", 404)
PASSCODE_MAX_ATTEMPTS_REACHED = FlowError(
    "passcode_max_attempts_reached", "The passcode was entered wrong too many times.", 401
)
PASSKEY_INVALID = FlowError("passkey_invalid", "The passkey is invalid.", 401)
RATE_LIMIT_EXCEEDED = FlowError("rate_limit_exceeded", "The rate limit has been exceeded.", 429)
UNAUTHORIZED = FlowError("unauthorized", "The session is invalid.", 401)
WEBAUTHN_CREDENTIAL_INVALID_MFA_ONLY = FlowError(
    "webauthn_credential_invalid_mfa_only",
    "This credential can be used as a second factor security key only.",
    401,
)
PLATFORM_AUTHENTICATOR_REQUIRED = FlowError(
    "platform_authenticator_required",
    "The device or browser does not support the required platform authenticators.",
    401,
)
FORBIDDEN = FlowError("forbidden", "SAML is not enabled for this tenant", 403)

# Deliberate status variants of catalogue codes. Hanko answers a client's unreadable request
# with 500 technical_error; a 5xx must mean that *we* failed, so these say 4xx instead.
REQUEST_MALFORMED = FORM_DATA_INVALID  # body is not JSON, or input_data/csrf_token mistyped
UNSUPPORTED_MEDIA_TYPE = FORM_DATA_INVALID.with_status(415)
REQUEST_TOO_LARGE = FORM_DATA_INVALID.with_status(413)
# The database cannot be reached: 503 with Retry-After asks the client to try again.
SERVICE_UNAVAILABLE = TECHNICAL.with_status(503)

# --- Input-level errors (flow-api.md §3.2) ------------------------------------------------------

EMAIL_ALREADY_EXISTS = InputError("email_already_exists", "The email address already exists.")
USERNAME_ALREADY_EXISTS = InputError("username_already_exists", "The username already exists.")
UNKNOWN_USERNAME = InputError("unknown_username_error", "The username is unknown.")
UNKNOWN_EMAIL = InputError("unknown_email_error", "The email address is unknown.")
INVALID_USERNAME = InputError("invalid_username_error", "The username is invalid.")
PASSCODE_INVALID = InputError("passcode_invalid", "The passcode is invalid.")
OTP_CODE_INVALID = InputError("otp_code_invalid", "The OTP code is invalid.")
OTP_CODE_ALREADY_USED = InputError("otp_code_already_used", "The OTP code has already been used.")
INVALID_METADATA = InputError("invalid_metadata_error", "The metadata is invalid.")


# --- Beyond Hanko: invitations (issue 15) --------------------------------------------------------
# Hanko has no invitations, so flow-api.md §3 lists none of these and ``catalogue()`` leaves them
# out. A wrong code (or a code with another address) is an input error on ``code``; a right code
# whose invitation can no longer be used answers why, in the state the person is in.

INVITATION_INVALID = InputError("invitation_invalid", "The invitation code is invalid.")
INVITATION_EXPIRED = FlowError("invitation_expired", "The invitation has expired.", 410)
INVITATION_USED = FlowError("invitation_used", "The invitation has already been used.", 410)
INVITATION_REVOKED = FlowError("invitation_revoked", "The invitation has been revoked.", 410)
BEYOND_HANKO = frozenset(
    e.code for e in (INVITATION_INVALID, INVITATION_EXPIRED, INVITATION_USED, INVITATION_REVOKED)
)


def catalogue() -> tuple[list[FlowError], list[InputError]]:
    """Every distinct flow-level and input-level error of Hanko's defined above (used by the
    tests)."""
    flow_errors: dict[str, FlowError] = {}
    input_errors: dict[str, InputError] = {}
    for value in globals().values():
        if getattr(value, "code", None) in BEYOND_HANKO:
            continue
        if isinstance(value, FlowError):
            flow_errors.setdefault(value.code, value)
        elif isinstance(value, InputError):
            input_errors.setdefault(value.code, value)
    return list(flow_errors.values()), list(input_errors.values())
