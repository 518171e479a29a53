"""TOTP, the authenticator-app second factor (platform.md §1.9, flow-api.md §4.0.5, §4.0.6;
security-checks TO-01…TO-05).

RFC 6238 with Hanko's parameters: SHA-1, 6 digits, 30-second steps, one step of clock skew either
way (T-1, T, T+1), judged on the server's clock only. The secret (160 random bits, base32) is
stored Fernet-encrypted (``services/crypto.py``, purpose ``"totp"``) and never handed out after
enrolment. Every accepted code moves the account's ``last_step`` forward with a compare-and-set
``UPDATE``, so a code is accepted once even when it is submitted many times at once (RFC 6238
§5.2, TO-04); enrolment stores the step of its code too (``save_secret(last_step=...)``), so that
code cannot also serve as the first login code (TO-02).

Wrong codes count against the account, whatever the flow or client IP (TO-05): ``ACCOUNT_BUDGET``
per ``BUDGET_WINDOW``, and a ceiling of ``MAX_CONSECUTIVE`` without a success (NIST SP 800-63B-4
§3.2.2) lifted after ``CEILING_COOLDOWN`` without a further failure; past either, every code is
refused until the limit lifts. A success resets both. The counters are written in the caller's
transaction: a flow step commits on every answer, so they persist.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import io
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
import qrcode
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from PIL import Image
from qrcode.image.pil import PilImage

from hankoflow.conf import settings
from hankoflow.models import Account
from hankoflow.models.mfa import OTPSecret
from hankoflow.services import crypto
from hankoflow.services.accounts import forget_cached

DIGITS = 6
PERIOD = 30
VALID_WINDOW = 1
"""Steps of clock skew accepted either way (RFC 6238 §5.2 recommends at most one)."""

ACCOUNT_BUDGET = 10
"""Wrong codes accepted per account in one ``BUDGET_WINDOW`` (the same as passcodes')."""

BUDGET_WINDOW = timedelta(minutes=15)

MAX_CONSECUTIVE = 100
"""Failures without a success after which the account's TOTP is refused (NIST §3.2.2)."""

CEILING_COOLDOWN = timedelta(hours=24)
"""Quiet time after the last failure that lifts the ``MAX_CONSECUTIVE`` ceiling."""

MIN_SECRET_BYTES = 16
"""Shortest secret ``save_secret`` stores (RFC 4226 §4 R6: at least 128 bits; ours have 160)."""

QR_SIZE = 200
"""Width and height in pixels of the enrolment QR code (Hanko's size)."""

_CRYPTO_PURPOSE = "totp"
_ASCII_DIGITS = frozenset("0123456789")
_clock = time.time  # the server clock; tests replace it


@dataclass(frozen=True)
class TotpResult:
    """The outcome of one login code. ``replayed``: the code was right but its step was already
    used (answer ``otp_code_already_used``)."""

    ok: bool
    replayed: bool = False


# --- enrolment ----------------------------------------------------------------------------------


def new_secret() -> str:
    """A fresh base32 secret of 160 random bits (RFC 4226 §4 R6, NIST SP 800-63B-4 §3.1.4.2)."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, account_name: str) -> str:
    """The ``otpauth://totp/...`` URI an authenticator app imports; issuer ``SERVICE.NAME``."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(
        name=account_name, issuer_name=settings.SERVICE.NAME
    )


def qr_data_uri(uri: str) -> str:
    """``data:image/png;base64,...``: a ``QR_SIZE`` × ``QR_SIZE`` PNG QR code of ``uri``.

    Modules are whole pixels (no blurry scaling); what the module grid leaves of the square is
    extra white margin around the code.
    """
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(uri)
    code.make(fit=True)
    modules = code.modules_count + 2 * code.border
    code.box_size = max(1, QR_SIZE // modules)
    image = code.make_image(image_factory=PilImage).get_image().convert("L")
    size = max(QR_SIZE, image.width)
    canvas = Image.new("L", (size, size), 255)
    offset = (size - image.width) // 2
    canvas.paste(image, (offset, offset))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def save_secret(account: Account, secret: str, *, last_step: int | None) -> OTPSecret:
    """Store ``secret`` (encrypted) as the account's TOTP secret, replacing any older one.

    ``last_step`` is the step of the code that confirmed the enrolment (``matching_step``), so
    that code cannot be used again to log in (TO-02). The failure counters start afresh.
    """
    if len(_secret_bytes(secret)) < MIN_SECRET_BYTES:
        raise ValueError("a TOTP secret needs at least 128 bits")
    now = timezone.now()
    with transaction.atomic():
        OTPSecret.objects.filter(account=account).delete()
        row = OTPSecret.objects.create(
            account=account,
            secret_encrypted=crypto.encrypt(secret, _CRYPTO_PURPOSE),
            last_step=last_step,
            window_started_at=now,
            created_at=now,
        )
    forget_cached(account)
    return row


def has_secret(account: Account) -> bool:
    """True when the account has an authenticator app set up."""
    return OTPSecret.objects.filter(account=account).exists()


def remove_secret(account: Account) -> bool:
    """Delete the account's TOTP secret (profile ``otp_secret_delete``); False if it had none."""
    deleted, _ = OTPSecret.objects.filter(account=account).delete()
    forget_cached(account)
    return bool(deleted)


# --- verification -------------------------------------------------------------------------------


def matching_step(
    secret: str, code: str, *, after_step: int | None = None, at: float | None = None
) -> int | None:
    """The newest of the steps T-1, T, T+1 whose code equals ``code`` and that is greater than
    ``after_step``; None when there is none or ``code`` is not a code.

    ``T`` is the step of ``at`` (Unix seconds; default: now on the server's clock). ``code`` is
    trimmed and must then be exactly 6 ASCII digits. Decision D8 (security-checks TO-03):
    non-ASCII digits such as full-width ``１２３４５６`` or Arabic-Indic digits are refused, not
    NFKC-normalised as pyotp's own ``verify`` does: no authenticator app shows them, and one
    accepted spelling of a code keeps the input rules simple. Each candidate is compared in
    constant time and all three are always compared. Checking every step (not the first match)
    handles the rare code shared by two adjacent steps: the newer unused one wins (TO-04).
    """
    if not isinstance(code, str):
        return None
    code = code.strip()
    if len(code) != DIGITS or not _ASCII_DIGITS.issuperset(code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)
    now_step = int((_clock() if at is None else at) // PERIOD)
    found = None
    for step in range(now_step + VALID_WINDOW, now_step - VALID_WINDOW - 1, -1):
        if step < 0:
            continue
        matches = hmac.compare_digest(totp.generate_otp(step).encode(), code.encode())
        if matches and found is None and (after_step is None or step > after_step):
            found = step
    return found


def verify_login(account: Account, code: str) -> TotpResult:
    """Check a login code of ``account`` and use it up.

    Refused (``ok=False``): no secret, a spent failure budget, a wrong code (counted against the
    budget). ``replayed``: the code is right but its step is not newer than the last accepted one,
    or a concurrent request accepted it first — the compare-and-set ``UPDATE`` of ``last_step``
    changes exactly one row for exactly one request (TO-04). Replays are not counted as failures.
    """
    with transaction.atomic():
        # The lock orders concurrent attempts of one account, so none escapes the budget.
        row = OTPSecret.objects.select_for_update().filter(account=account).first()
        if row is None:
            return TotpResult(ok=False)
        now = timezone.now()
        if _budget_spent(row, now):
            return TotpResult(ok=False)
        secret = crypto.decrypt(row.secret_encrypted, _CRYPTO_PURPOSE).decode("ascii")
        step = matching_step(secret, code)
        if step is None:
            _count_failure(row, now)
            return TotpResult(ok=False)
        if row.last_step is not None and step <= row.last_step:
            return TotpResult(ok=False, replayed=True)
        newer = Q(last_step__isnull=True) | Q(last_step__lt=step)
        won = (
            OTPSecret.objects.filter(newer, pk=row.pk).update(
                last_step=step, failures=0, window_started_at=now, consecutive_failures=0
            )
            == 1
        )
        return TotpResult(ok=True) if won else TotpResult(ok=False, replayed=True)


# --- internals ----------------------------------------------------------------------------------


def _secret_bytes(secret: str) -> bytes:
    """The key of a base32 secret (padding optional); ``ValueError`` when it is not base32."""
    try:
        return base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    except (binascii.Error, TypeError) as error:
        raise ValueError("a TOTP secret must be base32") from error


def _budget_spent(row: OTPSecret, now: datetime) -> bool:
    in_window = now < row.window_started_at + BUDGET_WINDOW
    if in_window and row.failures >= ACCOUNT_BUDGET:
        return True
    last_failure = row.last_failure_at
    ceiling_active = last_failure is not None and now < last_failure + CEILING_COOLDOWN
    return ceiling_active and row.consecutive_failures >= MAX_CONSECUTIVE


def _count_failure(row: OTPSecret, now: datetime) -> None:
    """Count one wrong code on the locked row, opening a new window or lifting the ceiling when
    their time has passed."""
    if now >= row.window_started_at + BUDGET_WINDOW:
        row.window_started_at = now
        row.failures = 0
    if row.last_failure_at is not None and now >= row.last_failure_at + CEILING_COOLDOWN:
        row.consecutive_failures = 0
    OTPSecret.objects.filter(pk=row.pk).update(
        failures=row.failures + 1,
        window_started_at=row.window_started_at,
        consecutive_failures=row.consecutive_failures + 1,
        last_failure_at=now,
    )
