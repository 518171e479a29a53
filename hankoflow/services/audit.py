"""The audit log: one row per security event, in the caller's transaction (platform.md §6).

``record`` writes an ``AuditLogEntry`` (§6.1) with the request's id, client IP and user agent,
the actor (account id and primary email) and event details, and prints the same event as one
JSON line on the ``hankoflow.audit`` logger (Hanko's console output, §6.2). Because the row is
written in the caller's transaction, an event is recorded exactly when the change it describes
commits.

Type names are Hanko's (§6.3), as constants below; ``record`` refuses any other. As with Hanko's
default ``audit_log.mask: true``, actor emails and ``details.email``/``details.username`` are
masked in both outputs. Never put codes, passwords or tokens in ``details`` (security-checks
AU-02).
"""

# ruff: noqa: S105 - names like PASSWORD_CHANGED are event types, not secrets

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest

from hankoflow import clock
from hankoflow.engine import RequestFacts, random_alphanumeric
from hankoflow.models import Account, AuditLogEntry
from hankoflow.services import rows

logger = logging.getLogger("hankoflow.audit")

# --- event types emitted by Hanko's flows (platform.md §6.3) ------------------------------------
LOGIN_SUCCESS = "login_success"
LOGIN_FAILURE = "login_failure"
USER_LOGGED_OUT = "user_logged_out"
USER_CREATED = "user_created"
USER_DELETED = "user_deleted"
EMAIL_CREATED = "email_created"
EMAIL_VERIFIED = "email_verified"
EMAIL_DELETED = "email_deleted"
PRIMARY_EMAIL_CHANGED = "primary_email_changed"
PASSKEY_CREATED = "passkey_created"
SECURITY_KEY_CREATED = "security_key_created"
PASSKEY_DELETED = "passkey_deleted"
OTP_CREATED = "otp_created"
PASSWORD_CHANGED = "password_changed"
PASSWORD_DELETED = "password_deleted"
USERNAME_CHANGED = "username_changed"
USERNAME_DELETED = "username_deleted"
SECURITY_NOTIFICATION_SENT = "security_notification_sent"
THIRDPARTY_SIGNUP_SUCCEEDED = "thirdparty_signup_succeeded"
THIRDPARTY_SIGNIN_SUCCEEDED = "thirdparty_signin_succeeded"
THIRDPARTY_LINKING_SUCCEEDED = "thirdparty_linking_succeeded"
THIRDPARTY_SIGNIN_SIGNUP_FAILED = "thirdparty_signin_signup_failed"

# --- legacy types (Hanko v2 REST endpoints; still valid values of the admin API filter) ---------
PASSWORD_SET_SUCCEEDED = "password_set_succeeded"
PASSWORD_SET_FAILED = "password_set_failed"
PASSWORD_LOGIN_SUCCEEDED = "password_login_succeeded"
PASSWORD_LOGIN_FAILED = "password_login_failed"
PASSCODE_LOGIN_INIT_SUCCEEDED = "passcode_login_init_succeeded"
PASSCODE_LOGIN_INIT_FAILED = "passcode_login_init_failed"
PASSCODE_LOGIN_FINAL_SUCCEEDED = "passcode_login_final_succeeded"
PASSCODE_LOGIN_FINAL_FAILED = "passcode_login_final_failed"
WEBAUTHN_REGISTRATION_INIT_SUCCEEDED = "webauthn_registration_init_succeeded"
WEBAUTHN_REGISTRATION_INIT_FAILED = "webauthn_registration_init_failed"
WEBAUTHN_REGISTRATION_FINAL_SUCCEEDED = "webauthn_registration_final_succeeded"
WEBAUTHN_REGISTRATION_FINAL_FAILED = "webauthn_registration_final_failed"
WEBAUTHN_AUTHENTICATION_INIT_SUCCEEDED = "webauthn_authentication_init_succeeded"
WEBAUTHN_AUTHENTICATION_INIT_FAILED = "webauthn_authentication_init_failed"
WEBAUTHN_AUTHENTICATION_FINAL_SUCCEEDED = "webauthn_authentication_final_succeeded"
WEBAUTHN_AUTHENTICATION_FINAL_FAILED = "webauthn_authentication_final_failed"
WEBAUTHN_CREDENTIAL_UPDATED = "webauthn_credential_updated"
WEBAUTHN_CREDENTIAL_DELETED = "webauthn_credential_deleted"
TOKEN_EXCHANGE_SUCCEEDED = "token_exchange_succeeded"
TOKEN_EXCHANGE_FAILED = "token_exchange_failed"

TYPES: frozenset[str] = frozenset(
    value for name, value in list(globals().items()) if name.isupper() and isinstance(value, str)
)
"""Every type name (42; the OpenAPI enum lacks ``security_notification_sent``)."""

# Not in Hanko (issue 15): invitations. Kept out of ``TYPES`` (Hanko's list); ``record`` takes
# both. ``details`` name the invitation, the invited address and who acted.
INVITATION_CREATED = "invitation_created"
INVITATION_REVOKED = "invitation_revoked"
INVITATION_ACCEPTED = "invitation_accepted"
BEYOND_HANKO_TYPES = frozenset({INVITATION_CREATED, INVITATION_REVOKED, INVITATION_ACCEPTED})

# ``details.login_method`` values of login_success / login_failure.
METHOD_PASSWORD = "password"
METHOD_PASSKEY = "passkey"
METHOD_PASSCODE = "passcode"
METHOD_THIRD_PARTY = "third_party"

MASK = True
"""Mask actor emails and ``details.email``/``details.username`` (Hanko's ``audit_log.mask``)."""

_REQUEST_ID_ATTR = "_hankoflow_request_id"
_MAX_REQUEST_ID = 255


def record(
    type: str,  # Hanko's field name, as the contract has it
    *,
    env: RequestFacts | None = None,
    account: Account | None = None,
    email: str | None = None,
    error: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLogEntry:
    """Write one audit entry in the current transaction and echo it on the audit logger.

    ``env`` is the step's ``RequestFacts`` (or None outside a request). The actor is ``account``;
    its email is ``email`` when given, else the account's primary address.
    """
    entry = entry_for(type, env=env, account=account, email=email, error=error, details=details)
    rows.insert(entry)
    written(entry)
    return entry


def entry_for(
    type: str,
    *,
    env: RequestFacts | None = None,
    account: Account | None = None,
    email: str | None = None,
    error: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLogEntry:
    """``record``'s entry, not stored yet: for a caller that stores it with other rows in one
    statement (a sign-in's ``login_success`` with its session) and then calls ``written``."""
    if type not in TYPES and type not in BEYOND_HANKO_TYPES:
        raise ValueError(f"unknown audit log type {type!r}")
    request = getattr(env, "request", None)
    actor_email = email.strip().lower() if email else _primary_email(account)
    return AuditLogEntry(
        type=type,
        error=error,
        meta_http_request_id=request_id(request) if request is not None else "",
        meta_source_ip=getattr(env, "ip", "") or "",
        meta_user_agent=(getattr(env, "user_agent", "") or "")[:512],
        actor_user_id=account.pk if account is not None else None,
        actor_email=mask_email(actor_email) if MASK and actor_email else actor_email,
        details=_masked_details(details) if details is not None else None,
        created_at=clock.now(),
    )


def written(entry: AuditLogEntry) -> None:
    """``entry`` (from ``entry_for``) was stored: echo it on the audit logger."""
    _log(entry)


def request_id(request: HttpRequest) -> str:
    """The request's id: a sane incoming ``X-Request-Id``, else a random one kept on the request.

    Hanko echoes the header or makes a 32-character random id; all entries of one request share
    it.
    """
    existing = getattr(request, _REQUEST_ID_ATTR, None)
    if existing:
        return existing
    incoming = request.META.get("HTTP_X_REQUEST_ID", "")
    if incoming and len(incoming) <= _MAX_REQUEST_ID and incoming.isprintable():
        value = incoming
    else:
        value = random_alphanumeric(32)  # one read of randomness, not one per character
    setattr(request, _REQUEST_ID_ATTR, value)
    return value


def mask_email(address: str) -> str:
    """Hanko's mask: ``john@example.com`` → ``j*****@example.com``, ``johnathan@x.io`` →
    ``joh******@x.io``."""
    local, at, domain = address.partition("@")
    if len(local) <= 6:
        masked = local[:1] + "*" * (6 - len(local[:1]))
    else:
        masked = local[:3] + "*" * (len(local) - 3)
    return f"{masked}{at}{domain}"


def mask_username(username: str) -> str:
    """Hanko's mask: ``a`` → ``*``, ``ab`` → ``a****b``, ``alice`` → ``a***e``."""
    if len(username) <= 1:
        return "*"
    if len(username) <= 3:
        return username[0] + "****" + username[-1]
    return username[0] + "*" * (len(username) - 2) + username[-1]


# --- internals --------------------------------------------------------------------------------


def _primary_email(account: Account | None) -> str | None:
    if account is None:
        return None
    # all(): reuses the emails accounts.get prefetched, when it did.
    return next((e.address for e in account.emails.all() if e.is_primary), None)


def _masked_details(details: dict[str, Any]) -> dict[str, Any]:
    # Round-trip through JSON so the stored value is exactly what a reader gets back.
    result = json.loads(json.dumps(details, cls=DjangoJSONEncoder))
    if MASK:
        if isinstance(result.get("email"), str):
            result["email"] = mask_email(result["email"])
        if isinstance(result.get("username"), str):
            result["username"] = mask_username(result["username"])
    return result


def _log(entry: AuditLogEntry) -> None:
    """Hanko's console output (§6.2): one JSON line, so CR/LF in values cannot forge lines."""
    if not logger.isEnabledFor(logging.INFO):
        return
    line: dict[str, Any] = {
        "audience": "audit",
        "type": entry.type,
        "error": entry.error,
        "http_request_id": entry.meta_http_request_id,
        "source_ip": entry.meta_source_ip,
        "user_agent": entry.meta_user_agent,
        "details": entry.details,
        "time": entry.created_at.isoformat(),
        "time_unix": int(entry.created_at.timestamp()),
    }
    if entry.actor_user_id is not None:
        line["user_id"] = str(entry.actor_user_id)
        line["user_email"] = entry.actor_email
    logger.info("%s", json.dumps(line, cls=DjangoJSONEncoder))
