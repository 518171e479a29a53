"""Email passcodes: issue, check usability, verify (platform.md §7.2, flow-api.md §4.0.2.11).

A passcode is 6 characters from ``EMAIL.PASSCODE_CHARSET``, lives ``EMAIL.PASSCODE_TTL`` seconds,
is stored only as a salted, keyed HMAC-SHA256, allows ``MAX_TRIES`` attempts and is consumed
once. Every attempt also counts against the address's attempt budget (``services/attempts.py``,
kind ``passcode``, subject the normalised address, whether or not an account has it), which a
resend does not reset (security-checks PC-03…PC-08): per client network and across networks,
a few free failures, then growing waits and a ceiling of 100 consecutive failures (NIST SP
800-63B-4 §3.2.2); while the budget refuses, every verification answers ``max_attempts_reached``.

Each verification locks the passcode's row and holds the address's budget rows (row locks,
``attempts.hold``) to the end of the transaction, and counts the try before the comparison with
one conditional ``UPDATE`` that also consumes the passcode (given back when the code is wrong), so
concurrent requests (several flows, several processes) cannot get more comparisons than the
limits allow. Everything is written in the caller's transaction: a flow step commits on every
answer, including input errors, so the counts persist; only an unexpected exception rolls the
step back as a whole.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils.crypto import salted_hmac

from hankoflow import clock
from hankoflow.conf import settings
from hankoflow.models import Account, Passcode
from hankoflow.services import attempts

MAX_TRIES = 3
"""Attempts per passcode (Hanko's constant). The 3rd wrong one kills the code."""

CODE_LENGTH = 6
ALPHANUMERIC = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"  # no 0, 1, O, I, l

_KEY_SALT = "hankoflow.services.passcodes"
_DUMMY_SALT = "0" * 32
_DUMMY_DIGEST = "0" * 64


@dataclass(frozen=True)
class IssuedPasscode:
    """A new passcode: ``code`` goes into the email and nowhere else."""

    id: str
    code: str
    expires_at: datetime


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of one verification.

    ``ok`` is True only for the attempt that consumed the passcode. ``max_attempts_reached``
    means the code is dead (or the address's budget is spent): ask for a new one.
    """

    ok: bool
    max_attempts_reached: bool = False


def issue(*, email: str, account: Account | None, flow_id: str | None) -> IssuedPasscode:
    """Create a passcode for ``email``; older unused passcodes of the same flow stop working."""
    now = clock.now()
    address = normalize_email(email)
    if flow_id is not None:
        # Newest code only (security-checks PC-07): a resend kills the previous code.
        older = Passcode.objects.filter(flow_id=flow_id, used_at__isnull=True, expires_at__gt=now)
        older.update(expires_at=now)
    code = generate_code(settings.EMAIL.PASSCODE_CHARSET)
    salt = secrets.token_hex(16)
    row = Passcode.objects.create(
        email=address,
        account=account,
        flow_id=flow_id,
        code_hash=f"{salt}${_digest(salt, code)}",
        created_at=now,
        expires_at=now + timedelta(seconds=settings.EMAIL.PASSCODE_TTL),
    )
    return IssuedPasscode(id=str(row.id), code=code, expires_at=row.expires_at)


def is_usable(passcode_id: str | None, email: str) -> bool:
    """True when the passcode exists for ``email``, is unexpired, unused and has tries left.

    The SendPasscode hook asks this to decide whether the code already sent still stands.
    """
    row = _load(passcode_id)
    return (
        row is not None
        and _alive(row, clock.now())
        and row.tries < MAX_TRIES
        and row.email == normalize_email(email)
    )


def verify(passcode_id: str, code: str, *, ip: str) -> VerifyResult:
    """Check ``code`` against the passcode; consume it when right.

    Unknown, expired or used passcodes give ``ok=False``; a dead passcode (``MAX_TRIES``
    attempts) or an address budget that refuses the client's network (``ip``) gives
    ``max_attempts_reached``. Otherwise the try is counted first, then compared, while the
    passcode and the address's budget are locked (see the module docstring). Exactly one HMAC
    comparison runs on every path, so the branches cost the same (security-checks PC-08).
    """
    with transaction.atomic(savepoint=False):  # the row locks need one; a flow step has it
        return _verify(passcode_id, code, ip, clock.now())


def _verify(passcode_id: str, code: str, ip: str, now: datetime) -> VerifyResult:
    # Locked until the transaction ends: every other verification of this passcode waits here
    # and then sees this one's outcome, so what is read here is what the UPDATE below finds.
    row = _load(passcode_id, lock=True)
    if row is None or not _alive(row, now):
        return _refuse(code, VerifyResult(ok=False))
    if row.tries >= MAX_TRIES:
        return _refuse(code, VerifyResult(ok=False, max_attempts_reached=True))
    attempt = attempts.hold(attempts.PASSCODE, row.email, ip)
    if not attempt.allowed:
        return _refuse(code, VerifyResult(ok=False, max_attempts_reached=True))

    # The try is counted before the comparison (security-checks PC-04), in the same UPDATE as
    # the consumption a right code needs; a wrong code gives the consumption back, never the try.
    counted = Passcode.objects.filter(
        pk=row.pk, tries__lt=MAX_TRIES, used_at__isnull=True, expires_at__gt=now
    ).update(tries=F("tries") + 1, used_at=now)
    if counted != 1:
        # A rival request used, killed or exhausted it since we read it: no guess was made.
        attempt.release()
        row = _load(passcode_id)
        if row is None or not _alive(row, now):
            return _refuse(code, VerifyResult(ok=False))
        return _refuse(code, VerifyResult(ok=False, max_attempts_reached=True))

    salt, _, stored = row.code_hash.partition("$")
    if not hmac.compare_digest(_digest(salt, code), stored):
        Passcode.objects.filter(pk=row.pk).update(used_at=None)
        attempt.failed()
        # The row was read under its lock: this try made it ``row.tries + 1``.
        return VerifyResult(ok=False, max_attempts_reached=row.tries + 1 >= MAX_TRIES)
    attempt.succeeded()
    return VerifyResult(ok=True)


def generate_code(charset: str = "numeric") -> str:
    """A fresh code from a CSPRNG: 6 digits (zero-padded) or 6 of Hanko's 57 letters/digits."""
    if charset == "alphanumeric":
        return "".join(secrets.choice(ALPHANUMERIC) for _ in range(CODE_LENGTH))
    return f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"


def normalize_email(address: str) -> str:
    return address.strip().lower()


# --- internals --------------------------------------------------------------------------------


def _digest(salt: str, code: str) -> str:
    """HMAC-SHA256 of the code, keyed with SECRET_KEY and the row's random salt."""
    value = code.encode("utf-8", "surrogatepass")  # any text a client sends, never a 500
    return salted_hmac(f"{_KEY_SALT}:{salt}", value, algorithm="sha256").hexdigest()


def _refuse(code: str, result: VerifyResult) -> VerifyResult:
    """Answer without a real comparison, after doing the same work as one."""
    hmac.compare_digest(_digest(_DUMMY_SALT, code), _DUMMY_DIGEST)
    return result


def _load(passcode_id: str | None, *, lock: bool = False) -> Passcode | None:
    if not passcode_id:
        return None
    try:
        pk = uuid.UUID(str(passcode_id))
    except ValueError:
        return None
    rows = Passcode.objects.select_for_update() if lock else Passcode.objects
    return rows.filter(pk=pk).first()


def _alive(row: Passcode, now: datetime) -> bool:
    return row.used_at is None and now < row.expires_at
