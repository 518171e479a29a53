"""TOTP, the authenticator-app second factor (platform.md §1.9, flow-api.md §4.0.5, §4.0.6;
security-checks TO-01…TO-05).

RFC 6238 with Hanko's parameters: SHA-1, 6 digits, 30-second steps, one step of clock skew either
way (T-1, T, T+1), judged on the server's clock only. The secret (160 random bits, base32) is
stored Fernet-encrypted (``services/crypto.py``, purpose ``"totp"``) and never handed out after
enrolment. Every accepted code moves the account's ``last_step`` forward with a compare-and-set
``UPDATE``, so a code is accepted once even when it is submitted many times at once (RFC 6238
§5.2, TO-04); enrolment stores the step of its code too (``save_secret(last_step=...)``), so that
code cannot also serve as the first login code (TO-02).

Wrong codes count against the account's attempt budget (``services/attempts.py``, kind
``totp``), per client network and across networks, whatever the flow (TO-05): a few free
failures, then growing waits and a ceiling of 100 consecutive failures (NIST SP 800-63B-4
§3.2.2); while the budget refuses, every code is refused. A success resets the counts of its
network and across networks. They are written in the caller's transaction: a flow step commits
on every answer, so they persist.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import io
from dataclasses import dataclass

import pyotp
import qrcode
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from PIL import Image
from qrcode.image.pil import PilImage

from hankoflow import clock, signals
from hankoflow.adapter import get_adapter
from hankoflow.models import Account
from hankoflow.models.mfa import OTPSecret
from hankoflow.services import attempts, crypto, events
from hankoflow.services.accounts import forget_cached

DIGITS = 6
PERIOD = 30
VALID_WINDOW = 1
"""Steps of clock skew accepted either way (RFC 6238 §5.2 recommends at most one)."""

MIN_SECRET_BYTES = 16
"""Shortest secret ``save_secret`` stores (RFC 4226 §4 R6: at least 128 bits; ours have 160)."""

QR_SIZE = 200
"""Width and height in pixels of the enrolment QR code (Hanko's size)."""

_CRYPTO_PURPOSE = "totp"
_ASCII_DIGITS = frozenset("0123456789")


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


def provisioning_uri(secret: str, account_name: str, *, request: HttpRequest | None = None) -> str:
    """The ``otpauth://totp/...`` URI an authenticator app imports; the issuer is the adapter's
    ``get_totp_issuer(request)`` (``SERVICE.NAME`` by default)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(
        name=account_name, issuer_name=get_adapter().get_totp_issuer(request)
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
    that code cannot be used again to log in (TO-02). The attempt budget is the account's and
    stays as it is.
    """
    if len(_secret_bytes(secret)) < MIN_SECRET_BYTES:
        raise ValueError("a TOTP secret needs at least 128 bits")
    now = clock.now()
    with transaction.atomic():
        OTPSecret.objects.filter(account=account).delete()
        row = OTPSecret.objects.create(
            account=account,
            secret_encrypted=crypto.encrypt(secret, _CRYPTO_PURPOSE),
            last_step=last_step,
            created_at=now,
        )
    forget_cached(account)
    return row


def has_secret(account: Account) -> bool:
    """True when the account has an authenticator app set up."""
    return OTPSecret.objects.filter(account=account).exists()


def remove_secret(account: Account, *, request: HttpRequest | None = None) -> bool:
    """Delete the account's TOTP secret (profile ``otp_secret_delete``) and send
    ``credential_removed``; False if it had none."""
    with transaction.atomic():
        rows = list(OTPSecret.objects.select_for_update().filter(account=account))
        OTPSecret.objects.filter(pk__in=[row.pk for row in rows]).delete()
        for row in rows:
            events.credential_removed(
                account, signals.CREDENTIAL_TOTP, str(row.pk), request=request
            )
    forget_cached(account)
    return bool(rows)


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
    now_step = int((clock.timestamp() if at is None else at) // PERIOD)
    found = None
    for step in range(now_step + VALID_WINDOW, now_step - VALID_WINDOW - 1, -1):
        if step < 0:
            continue
        matches = hmac.compare_digest(totp.generate_otp(step).encode(), code.encode())
        if matches and found is None and (after_step is None or step > after_step):
            found = step
    return found


def verify_login(account: Account, code: str, *, ip: str) -> TotpResult:
    """Check a login code of ``account``, entered from ``ip``, and use it up.

    Refused (``ok=False``): no secret, a budget that refuses the client's network, a wrong code
    (counted against the budget). ``replayed``: the code is right but its step is not newer than
    the last accepted one, or a concurrent request accepted it first — the compare-and-set
    ``UPDATE`` of ``last_step`` changes exactly one row for exactly one request (TO-04). Replays
    are not counted as failures.
    """
    with transaction.atomic():
        # Locks in this order in every request: the secret, then the budget's rows.
        row = OTPSecret.objects.select_for_update().filter(account=account).first()
        if row is None:
            return TotpResult(ok=False)
        attempt = attempts.reserve(attempts.TOTP, str(account.pk), ip)
        if not attempt.allowed:
            return TotpResult(ok=False)
        secret = crypto.decrypt(row.secret_encrypted, _CRYPTO_PURPOSE).decode("ascii")
        step = matching_step(secret, code)
        if step is None:
            return TotpResult(ok=False)
        if row.last_step is not None and step <= row.last_step:
            attempt.release()
            return TotpResult(ok=False, replayed=True)
        newer = Q(last_step__isnull=True) | Q(last_step__lt=step)
        if OTPSecret.objects.filter(newer, pk=row.pk).update(last_step=step) != 1:
            attempt.release()
            return TotpResult(ok=False, replayed=True)
        attempt.succeeded()
        return TotpResult(ok=True)


# --- internals ----------------------------------------------------------------------------------


def _secret_bytes(secret: str) -> bytes:
    """The key of a base32 secret (padding optional); ``ValueError`` when it is not base32."""
    try:
        return base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    except (binascii.Error, TypeError) as error:
        raise ValueError("a TOTP secret must be base32") from error
