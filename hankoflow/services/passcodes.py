"""Email passcodes: issue, check usability, verify (platform.md §7.2, flow-api.md §4.0.2.11).

A passcode is 6 characters from ``EMAIL.PASSCODE_CHARSET``, lives ``EMAIL.PASSCODE_TTL`` seconds,
is stored only as a salted, keyed HMAC-SHA256, allows ``MAX_TRIES`` attempts and is consumed
once. Every wrong code is also counted against the address's failure budget
(``PasscodeFailures``), which a resend does not reset (security-checks PC-03…PC-08):

* ``ACCOUNT_BUDGET`` wrong codes per ``BUDGET_WINDOW`` per normalised email, whatever the flow,
  passcode or client IP; past it every verification answers ``max_attempts_reached`` until the
  window ends;
* a hard ceiling of ``MAX_CONSECUTIVE`` failures without a success (NIST SP 800-63B-4 §3.2.2),
  lifted after ``CEILING_COOLDOWN`` without a further failure, so an attacker cannot lock an
  address out for good;
* a successful verification resets both.

Counters change with conditional ``UPDATE`` statements and a row lock, so concurrent requests
(several flows, several processes) cannot get more comparisons than the limits allow. They are
written in the caller's transaction: a flow step commits on every answer, including input errors,
so the counts persist; only an unexpected exception rolls the step back as a whole.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac

from hankoflow.conf import settings
from hankoflow.models import Account, Passcode, PasscodeFailures

MAX_TRIES = 3
"""Attempts per passcode (Hanko's constant). The 3rd wrong one kills the code."""

ACCOUNT_BUDGET = 10
"""Wrong codes accepted per address in one ``BUDGET_WINDOW``, across all passcodes and flows."""

BUDGET_WINDOW = timedelta(minutes=15)

MAX_CONSECUTIVE = 100
"""Failures without a success after which the address is refused (NIST §3.2.2: at most 100)."""

CEILING_COOLDOWN = timedelta(hours=24)
"""Quiet time after the last failure that lifts the ``MAX_CONSECUTIVE`` ceiling."""

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
    now = timezone.now()
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
        and _alive(row, timezone.now())
        and row.tries < MAX_TRIES
        and row.email == normalize_email(email)
    )


def verify(passcode_id: str, code: str) -> VerifyResult:
    """Check ``code`` against the passcode; consume it when right.

    Unknown, expired or used passcodes give ``ok=False``; a dead passcode (``MAX_TRIES``
    attempts) or a spent address budget gives ``max_attempts_reached``. Otherwise the attempt is
    counted first (its own conditional ``UPDATE``), then compared. Exactly one HMAC comparison
    runs on every path, so the branches cost the same (security-checks PC-08).
    """
    with transaction.atomic():
        return _verify(passcode_id, code, timezone.now())


def _verify(passcode_id: str, code: str, now: datetime) -> VerifyResult:
    row = _load(passcode_id)
    if row is None or not _alive(row, now):
        return _refuse(code, VerifyResult(ok=False))
    if row.tries >= MAX_TRIES or _budget_spent(_failures(row.email), now):
        return _refuse(code, VerifyResult(ok=False, max_attempts_reached=True))

    counted = Passcode.objects.filter(
        pk=row.pk, tries__lt=MAX_TRIES, used_at__isnull=True, expires_at__gt=now
    ).update(tries=F("tries") + 1)
    if counted != 1:
        # A rival request used, killed or exhausted it since we read it.
        row = _load(passcode_id)
        if row is None or not _alive(row, now):
            return _refuse(code, VerifyResult(ok=False))
        return _refuse(code, VerifyResult(ok=False, max_attempts_reached=True))
    if not _reserve_budget(row.email, now):
        return _refuse(code, VerifyResult(ok=False, max_attempts_reached=True))

    salt, _, stored = row.code_hash.partition("$")
    if not hmac.compare_digest(_digest(salt, code), stored):
        tries = Passcode.objects.filter(pk=row.pk).values_list("tries", flat=True).first()
        return VerifyResult(ok=False, max_attempts_reached=(tries or 0) >= MAX_TRIES)

    consumed = Passcode.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now)
    if consumed != 1:
        return VerifyResult(ok=False)
    PasscodeFailures.objects.filter(email=row.email).update(
        consecutive=0, window_failures=0, window_started_at=now, updated_at=now
    )
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


def _load(passcode_id: str | None) -> Passcode | None:
    if not passcode_id:
        return None
    try:
        pk = uuid.UUID(str(passcode_id))
    except ValueError:
        return None
    return Passcode.objects.filter(pk=pk).first()


def _alive(row: Passcode, now: datetime) -> bool:
    return row.used_at is None and now < row.expires_at


def _failures(email: str) -> PasscodeFailures | None:
    return PasscodeFailures.objects.filter(email=email).first()


def _budget_spent(failures: PasscodeFailures | None, now: datetime) -> bool:
    if failures is None:
        return False
    in_window = now < failures.window_started_at + BUDGET_WINDOW
    if in_window and failures.window_failures >= ACCOUNT_BUDGET:
        return True
    ceiling_active = now < failures.updated_at + CEILING_COOLDOWN
    return ceiling_active and failures.consecutive >= MAX_CONSECUTIVE


def _reserve_budget(email: str, now: datetime) -> bool:
    """Count this attempt as a failure before comparing; False when the budget is spent.

    The row is locked, so concurrent attempts for one address are counted one after another. A
    right code resets the counters afterwards, so only wrong codes stay counted.
    """
    PasscodeFailures.objects.get_or_create(email=email, defaults={"window_started_at": now})
    failures = PasscodeFailures.objects.select_for_update().get(email=email)
    if _budget_spent(failures, now):
        return False
    if now >= failures.window_started_at + BUDGET_WINDOW:
        failures.window_started_at = now
        failures.window_failures = 0
    if now >= failures.updated_at + CEILING_COOLDOWN:
        failures.consecutive = 0
    failures.window_failures += 1
    failures.consecutive += 1
    failures.updated_at = now
    PasscodeFailures.objects.filter(pk=failures.pk).update(
        window_started_at=failures.window_started_at,
        window_failures=failures.window_failures,
        consecutive=failures.consecutive,
        updated_at=now,
    )
    return True
