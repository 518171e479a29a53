"""The single catalogue of Flow API error codes (flow-api.md §3).

Every wire error code string lives here and nowhere else. Flow-level errors carry their HTTP
status; input-level errors are attached to one input and always travel with
``FORM_DATA_INVALID``. Messages are Hanko's English texts, reproduced verbatim because clients
may show them.

This module is plain Python on purpose: the framework-free engine imports it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class FlowError:
    """An error attached to the whole state (the ``error`` key of a state object)."""

    code: str
    message: str
    status: int
    cause: str | None = None

    def with_cause(self, cause: str) -> FlowError:
        return dataclasses.replace(self, cause=cause)

    def with_status(self, status: int) -> FlowError:
        return dataclasses.replace(self, status=status)


@dataclass(frozen=True)
class InputError:
    """An error attached to one input of the executed action."""

    code: str
    message: str
    cause: str | None = None

    def with_cause(self, cause: str) -> InputError:
        return dataclasses.replace(self, cause=cause)


# --- Flow-level errors (flow-api.md §3.1) -------------------------------------------------------

TECHNICAL = FlowError("technical_error", "Something went wrong.", 500)
FLOW_EXPIRED = FlowError("flow_expired_error", "The flow has expired.", 410)
FLOW_DISCONTINUITY = FlowError("flow_discontinuity_error", "The flow can't be continued.", 500)
OPERATION_NOT_PERMITTED = FlowError(
    "operation_not_permitted_error", "The operation is not permitted.", 403
)
FORM_DATA_INVALID = FlowError("form_data_invalid_error", "Form data invalid.", 400)
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

VALUE_MISSING = InputError("value_missing_error", "The value is missing.")
VALUE_INVALID = InputError("value_invalid_error", "The value is invalid.")
VALUE_TOO_LONG = InputError("value_too_long_error", "The value is too long.")
VALUE_TOO_SHORT = InputError("value_too_short_error", "The value is too short.")
EMAIL_ALREADY_EXISTS = InputError("email_already_exists", "The email address already exists.")
USERNAME_ALREADY_EXISTS = InputError("username_already_exists", "The username already exists.")
UNKNOWN_USERNAME = InputError("unknown_username_error", "The username is unknown.")
UNKNOWN_EMAIL = InputError("unknown_email_error", "The email address is unknown.")
INVALID_USERNAME = InputError("invalid_username_error", "The username is invalid.")
PASSCODE_INVALID = InputError("passcode_invalid", "The passcode is invalid.")
OTP_CODE_INVALID = InputError("otp_code_invalid", "The OTP code is invalid.")
OTP_CODE_ALREADY_USED = InputError("otp_code_already_used", "The OTP code has already been used.")
INVALID_METADATA = InputError("invalid_metadata_error", "The metadata is invalid.")


def value_not_allowed(allowed: list[str]) -> InputError:
    """The allowed-values failure, whose message lists the allowed values (flow-api.md §2.5.3)."""
    return dataclasses.replace(
        VALUE_INVALID, message=f"The value is invalid. Must be one of: {','.join(allowed)}"
    )


def catalogue() -> tuple[list[FlowError], list[InputError]]:
    """Every distinct flow-level and input-level error defined above (used by the tests)."""
    flow_errors: dict[str, FlowError] = {}
    input_errors: dict[str, InputError] = {}
    for value in globals().values():
        if isinstance(value, FlowError):
            flow_errors.setdefault(value.code, value)
        elif isinstance(value, InputError):
            input_errors.setdefault(value.code, value)
    return list(flow_errors.values()), list(input_errors.values())
