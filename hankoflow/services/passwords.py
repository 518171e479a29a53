"""Passwords: hashing, login checks and the policy for new passwords.

Used by the ``password_login``, ``register_password`` and ``password_recovery`` actions
(flow-api.md §4.0.2, action tables) and the profile's ``password_create``, ``password_update``
and ``password_delete`` (§4.3.2 #8-#10). The password lives in the Django user's own
``password`` field through Django's hashers, so the admin and ``changepassword`` keep working.

Hanko: hashes with bcrypt; we use ``PASSWORD_HASHERS`` (Argon2 recommended in the README).

Hanko: ``action_password_login.go`` returns before hashing when the user is unknown or has no
password, which tells an attacker which accounts exist. ``check_login`` runs the hasher exactly
once on every failing path (security-checks PW-04, PW-05; Django CVE-2024-39329).

Hanko: limits password logins only per IP and identifier (5 per minute). ``verify_login`` also
counts every attempt against the account's attempt budget (``services/attempts.py``, kind
``password``; PW-06), and a login identifier without an account against an imitation of it in
the cache, so the answers are the same either way.
"""

from __future__ import annotations

import contextlib
import copy
import uuid
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from hankoflow import errors, signals
from hankoflow.adapter import get_adapter
from hankoflow.conf import settings
from hankoflow.engine import RequestFacts
from hankoflow.models import Account
from hankoflow.services import accounts, attempts, audit, sessions

# Hanko's cap (bcrypt reads 72 bytes), kept so clients see the same limits.
MAX_BYTES = 72


def hash_password(raw: str) -> str:
    """Encode a password with the project's default hasher (for ``accounts.create``)."""
    return make_password(raw)


@dataclass(frozen=True)
class LoginCheck:
    """The outcome of a password login: ``ok``, or refused by the attempt budget for
    ``retry_after`` seconds (the password was then not compared)."""

    ok: bool
    retry_after: int = 0


def verify_login(account: Account | None, raw: str, *, identifier: str, ip: str) -> LoginCheck:
    """Check a password login to ``account`` (None: ``identifier`` names no account) from ``ip``.

    The attempt holds the account's budget rows (locked) through the check, then counts a
    failure or resets the budget; a success on a clean budget writes nothing. The password
    hasher runs exactly once on every path, a refusal by the budget included.
    """
    with transaction.atomic(savepoint=False):  # the row locks need one; a flow step has it
        if account is None:
            attempt = attempts.hold_unknown(attempts.PASSWORD, identifier.strip().lower(), ip)
        else:
            attempt = attempts.hold(attempts.PASSWORD, str(account.pk), ip)
        if not attempt.allowed:
            make_password(raw if raw is not None else "")  # same work as a check
            return LoginCheck(ok=False, retry_after=attempt.retry_after)
        if not check_login(account, raw):
            attempt.failed()
            return LoginCheck(ok=False)
        attempt.succeeded()
        return LoginCheck(ok=True)


def check_login(account: Account | None, raw: str) -> bool:
    """Whether ``raw`` is the password of this active account (no attempt budget: logins go
    through ``verify_login``).

    The password hasher runs exactly once whatever the outcome: for an unknown account, a
    user without a usable password, an inactive user, a wrong and a right password (plus one
    re-encoding, saved, when a right password's hash is outdated).
    """
    if account is None:
        make_password(raw if raw is not None else "")  # same work as a real check
        return False
    user = account.user
    if not getattr(user, "is_active", True):
        # No setter: an inactive user's hash is not upgraded. An unusable or blank hash makes
        # Django run the hasher on a random string instead.
        check_password(raw, user.password)
        return False
    return user.check_password(raw)


def new_password_errors(
    raw: str,
    *,
    account: Account | None = None,
    email: str | None = None,
    username: str | None = None,
) -> errors.InputError | None:
    """The input error for a new password, or None when it may be used.

    Checked in Hanko's order: fewer characters than ``PASSWORD.MIN_LENGTH`` (value_invalid),
    more than 72 bytes (value_too_long), then Django's ``AUTH_PASSWORD_VALIDATORS``
    (value_invalid with the validators' messages as ``cause``). The validators see the
    account's user, or for a sign-up an unsaved user built from ``email``/``username``, with
    the account's identifiers attached, so the similarity check compares against them.
    """
    if len(raw) < settings.PASSWORD.MIN_LENGTH:
        return errors.VALUE_INVALID
    if len(raw.encode("utf-8")) > MAX_BYTES:
        return errors.VALUE_TOO_LONG
    try:
        validate_password(raw, user=_validation_user(account, email, username))
    except ValidationError as exc:
        return errors.VALUE_INVALID.with_cause("; ".join(str(m) for m in exc.messages))
    return None


def _validation_user(
    account: Account | None, email: str | None, username: str | None
) -> AbstractBaseUser | None:
    """The user the validators compare with: a copy of the account's user (or an unsaved one
    for a sign-up) whose ``email`` and ``username`` attributes are hankoflow's identifiers, so
    the similarity check sees them whatever the user model's fields are (PW-02)."""
    if account is not None:
        user = copy.copy(account.user)
        facts = accounts.facts(account)
        email, username = facts.primary_email, facts.username
    elif email or username:
        user = get_adapter().new_user(email=email, username=username)
    else:
        return None
    for name, value in (("email", email), ("username", username)):
        if value:
            with contextlib.suppress(AttributeError):  # a read-only property on the model
                setattr(user, name, value)
    return user


def set_password(account: Account, raw: str) -> None:
    """Create or replace the account's password (validate it with ``new_password_errors``)."""
    user = account.user
    user.set_password(raw)
    user.save(update_fields=["password"])


def remove_password(account: Account) -> bool:
    """Take the account's password away (the user keeps an unusable one); False when it had
    none. The caller holds ``accounts.lock`` and has checked another way in is left."""
    user = account.user
    if not accounts.has_password(user):
        return False
    user.set_unusable_password()
    user.save(update_fields=["password"])
    return True


def end_other_sessions(
    account: Account,
    *,
    keep: uuid.UUID | str | None,
    env: RequestFacts | None,
    audit_details: dict[str, object] | None = None,
) -> list[str]:
    """End every session of the account but ``keep`` (a session id) after its password changed
    or went (security-checks PW-07, SE-07; ASVS 7.4.3); the ids ended.

    Each sends ``session_revoked`` with ``credential_reset``; one ``user_logged_out`` audit entry
    lists them, as ``sessions.revoke_all`` writes it. Devices trusted for MFA stay trusted: they
    only spare the second factor, never the password. Call it holding ``accounts.lock``, which
    also orders it against a session being issued at the same moment.
    """
    request = env.request if env is not None else None
    ended = [
        str(row.pk)
        for row in sessions.active_sessions(account)
        if str(row.pk) != str(keep)
        and sessions.revoke(row.pk, reason=signals.REASON_CREDENTIAL_RESET, request=request)
    ]
    if ended:
        details = {
            "reason": signals.REASON_CREDENTIAL_RESET,
            "session_ids": sorted(ended),
            **(audit_details or {}),
        }
        audit.record(audit.USER_LOGGED_OUT, env=env, account=account, details=details)
    return ended
