"""Signals hankoflow sends, so that a host project can react without forking (style.md §2.5).

Django's own signals keep firing too: ``user_logged_in`` (with the Django user and the request)
whenever a flow issues a session, after sign-in and after sign-up; ``user_logged_out`` on
``POST /logout`` and the page's logout form. The signals here cover what Django has no word for.
Conventions, for every signal in this module:

- Receivers get keyword arguments only: ``sender`` and the arguments listed with the signal.
  Accept ``**kwargs`` too, so that a later release can add arguments without breaking you.
- A signal is sent inside the database transaction that made the change, once the change is
  made (a flow step is one transaction). Whatever a receiver writes to the database commits or
  rolls back with it; work outside the database (an email, an HTTP call) belongs in
  ``transaction.on_commit``, which runs only if the step commits. An exception raised by a
  receiver fails the step (``technical_error``) and rolls it back, as with Django's signals.
- ``request`` is the ``HttpRequest`` behind the change, or None (management commands, tasks).
- No signal carries a password, passcode, TOTP code, token or secret. Identifiers typed by
  someone who failed to sign in are masked as in the audit log.

Example::

    from django.dispatch import receiver
    from hankoflow import signals

    @receiver(signals.session_revoked)
    def forget_session(sender, session, account, reason, **kwargs):
        if reason == signals.REASON_CREDENTIAL_RESET:
            my_cache.delete(f"session:{session.pk}")
"""

# ruff: noqa: S105 - names like CREDENTIAL_PASSWORD are kinds and reasons, not secrets

from __future__ import annotations

from django.dispatch import Signal

# --- accounts and sign-in -----------------------------------------------------------------------

user_registered = Signal()
"""A sign-up created an account: sent by the registration flow once the account, its Django
user, its identifiers and the credentials set up during sign-up are stored, before its session is
issued (``user_logged_in`` follows). ``sender`` is the ``Account`` model class. Arguments:
``account``, ``user`` (the Django user) and ``request``. ``credential_added`` follows for each
credential the new account has.
"""

account_deleted = Signal()
"""An account is about to be deleted: by its owner (the profile flow's ``account_delete``) or by
staff (Django admin). Sent inside the deleting transaction after its sessions ended and before
any row is deleted, so receivers still see everything (remove or anonymise the project's own data
here, or keep the Django user by overriding the adapter's ``delete_user``). ``sender`` is the
``Account`` model class. Arguments: ``account``, ``user`` (the Django user), ``by_staff`` (the
staff member's Django user, or None when the person deleted their own account) and ``request``.
"""

login_succeeded = Signal()
"""A login flow signed someone in: sent once its session is stored (after Django's
``user_logged_in``). Sign-ups send ``user_registered`` instead. ``sender`` is the ``Account``
model class. Arguments: ``account``, ``user``, ``request``, ``amr`` (the methods used, as in the
token's ``amr`` claim: e.g. ``["pwd", "totp"]``, ``["otp"]``, ``["passkey"]``) and ``session_id``
(the new session's id, a string).
"""

login_failed = Signal()
"""A sign-in attempt failed: sent by the same steps that write a ``login_failure`` audit entry.
``sender`` is the ``Account`` model class. Arguments: ``account`` (the ``Account`` when the step
already knew it, else None: never looked up for the signal alone, so an unknown identifier costs
what a known one does), ``identifier`` (the email address or username the person gave, masked as
in the audit log: ``j*****@example.com``; None when there was none, e.g. a passkey), ``method``
(``LOGIN_METHOD_*``), ``reason`` (``FAILURE_*``) and ``request``. Wrong passcodes while confirming
an address during sign-up count too, as in Hanko's audit log. Unlike the others it is sent with
``send_robust``: a receiver that raises is logged on ``hankoflow.signals`` and the step goes on,
so a broken receiver cannot roll back the failure counters that limit guessing.
"""

LOGIN_METHOD_PASSWORD = "password"
LOGIN_METHOD_PASSCODE = "passcode"
LOGIN_METHOD_PASSKEY = "passkey"
LOGIN_METHOD_SECURITY_KEY = "security_key"
LOGIN_METHOD_TOTP = "totp"

FAILURE_UNKNOWN_IDENTIFIER = "unknown_identifier"
"""No account has this username (unknown email addresses are not reported: the flow walks on)."""

FAILURE_WRONG_PASSWORD = "wrong_password"
FAILURE_WRONG_PASSCODE = "wrong_passcode"
"""Wrong, expired or unknown email passcode."""

FAILURE_TOO_MANY_ATTEMPTS = "too_many_attempts"
"""The passcode's tries or the account's password attempt budget are used up."""

FAILURE_INVALID_PASSKEY = "invalid_passkey"
"""A passkey or security key assertion was refused (bad signature, unknown credential, replay,
regressing signature counter...)."""

FAILURE_WRONG_OTP_CODE = "wrong_otp_code"
"""Wrong or already used authenticator-app code."""

# --- credentials ---------------------------------------------------------------------------------

credential_added = Signal()
"""An account gained a credential: during sign-up (after ``user_registered``), during sign-in
onboarding, or a password set by recovery for an account that had none (a replaced password
sends nothing). ``sender`` is the ``Account`` model class. Arguments: ``account``, ``kind``
(``CREDENTIAL_*``), ``credential_id`` (the WebAuthn credential id or the TOTP secret's id as a
string; None for a password, which lives on the Django user) and ``request``.
"""

credential_removed = Signal()
"""An account lost a credential: in the profile flow, from Django admin, or when staff remove a
second factor. Arguments as ``credential_added``.
"""

CREDENTIAL_PASSWORD = "password"
CREDENTIAL_PASSKEY = "passkey"
CREDENTIAL_SECURITY_KEY = "security_key"
CREDENTIAL_TOTP = "totp"
CREDENTIAL_THIRD_PARTY = "third_party"
"""An identity at an OAuth / OpenID Connect provider, connected or disconnected in the profile;
``credential_id`` is the identity's id."""

# --- sessions -----------------------------------------------------------------------------------

session_revoked = Signal()
"""A session ended before its expiry: its row is deleted and its token stops validating at once.

Sent once per session, by ``hankoflow.services.sessions``. ``sender`` is the ``Session`` model
class. Arguments: ``session`` (the deleted ``Session`` row; ``session.pk`` is the token's
``session_id``), ``account`` (its ``Account``; ``account.user`` is the Django user), ``reason``
(one of the ``REASON_*`` values below) and ``request``.
"""

REASON_LOGOUT = "logout"
"""``POST /logout`` (and the demo's logout form) ended the request's own session."""

REASON_CREDENTIAL_RESET = "credential_reset"
"""A credential was reset (password recovery): every other session of the user ends
(security-checks SE-07)."""

REASON_REVOKED = "revoked"
"""Revoked by code calling ``sessions.revoke_all`` without a more specific reason."""

REASON_LIMIT = "limit"
"""Evicted by ``SESSION.LIMIT`` when the user signed in once more (the oldest go first)."""

REASON_IDLE_TIMEOUT = "idle_timeout"
"""Unused for longer than ``SESSION.IDLE_TIMEOUT``; noticed when its token was next presented."""

REASON_USER_REVOKED = "user_revoked"
"""The person ended it from another of their sessions (the profile flow's ``session_delete``)."""

REASON_ACCOUNT_DELETED = "account_deleted"
"""The account was deleted (by its owner or by staff); all of its sessions end."""

SESSION_REVOKED_REASONS = frozenset(
    {
        REASON_LOGOUT,
        REASON_CREDENTIAL_RESET,
        REASON_REVOKED,
        REASON_LIMIT,
        REASON_IDLE_TIMEOUT,
        REASON_USER_REVOKED,
        REASON_ACCOUNT_DELETED,
    }
)
