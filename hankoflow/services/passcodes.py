"""Email passcodes: issue, check usability, verify (platform.md §7.2, flow-api.md §4.0.2.11).

A passcode is 6 characters from ``EMAIL.PASSCODE_CHARSET``, lives ``EMAIL.PASSCODE_TTL`` seconds,
is stored only as a salted, keyed HMAC-SHA256, allows ``MAX_TRIES`` attempts and is consumed
once. Every attempt also counts against the address's attempt budget (``services/attempts.py``,
kind ``passcode``, subject the normalised address, whether or not an account has it), which a
resend does not reset (security-checks PC-03…PC-08): per client network and across networks,
a few free failures, then growing waits and a ceiling of 100 consecutive failures (NIST SP
800-63B-4 §3.2.2); while the budget refuses, every verification answers ``max_attempts_reached``.

Each verification starts with one conditional ``UPDATE ... RETURNING`` that counts the try and
consumes the passcode (given back when the code is wrong or the budget refuses) and locks its row,
then holds the address's budget rows (row locks, ``attempts.hold``); all of them stay locked to
the end of the transaction, so concurrent requests (several flows, several processes) cannot get
more comparisons than the limits allow. Everything is written in the caller's transaction: a
flow step commits on every answer, including input errors, so the counts persist; only an
unexpected exception rolls the step back as a whole.
"""

from __future__ import annotations

import functools
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connections, router, transaction
from django.db.models import F, QuerySet, Subquery
from django.utils.crypto import salted_hmac

from hankoflow import clock
from hankoflow.conf import settings
from hankoflow.models import Account, Passcode
from hankoflow.services import accounts, attempts

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


def issue(
    *,
    email: str,
    account: Account | None = None,
    account_id: str | uuid.UUID | None = None,
    flow_id: str | None,
) -> IssuedPasscode:
    """Create a passcode for ``email``; older unused passcodes of the same flow stop working.

    The passcode belongs to ``account``, or to the account ``account_id`` names if it exists
    (looked up inside the INSERT, with the same statement whether or not it does, or whether an
    id is given at all: security-checks PC-08).
    """
    now = clock.now()
    code = generate_code(settings.EMAIL.PASSCODE_CHARSET)
    salt = secrets.token_hex(16)
    values = {
        "id": uuid.uuid4(),
        "email": normalize_email(email),
        "flow_id": flow_id,
        "code_hash": f"{salt}${_digest(salt, code)}",
        "created_at": now,
        "expires_at": now + timedelta(seconds=settings.EMAIL.PASSCODE_TTL),
    }
    owner = account.pk if account is not None else accounts.account_key(account_id)
    alias = router.db_for_write(Passcode)
    if flow_id is not None and connections[alias].vendor == "postgresql":
        _insert_replacing(alias, values, owner)
    else:
        if flow_id is not None:
            # Newest code only (security-checks PC-07): a resend kills the previous code.
            older = Passcode.objects.filter(
                flow_id=flow_id, used_at__isnull=True, expires_at__gt=now
            )
            older.update(expires_at=now)
        Passcode.objects.create(account_id=_owner(owner), **values)
    return IssuedPasscode(id=str(values["id"]), code=code, expires_at=values["expires_at"])


def is_usable(passcode_id: str | None, email: str) -> bool:
    """True when the passcode exists for ``email``, is unexpired, unused and has tries left.

    The SendPasscode hook asks this to decide whether the code already sent still stands.
    """
    row = _load(passcode_key(passcode_id))
    return (
        row is not None
        and _alive(row, clock.now())
        and row.tries < MAX_TRIES
        and row.email == normalize_email(email)
    )


def usable(passcode_id: str | None, *, now: datetime | None = None) -> QuerySet[Passcode]:
    """The passcode, if it is unexpired, unused and has tries left (``is_usable`` without the
    address), as a query to read in another statement; ``now``: the clock's by default."""
    pk = passcode_key(passcode_id)
    if pk is None:
        return Passcode.objects.none()
    now = clock.now() if now is None else now
    return Passcode.objects.filter(pk=pk, used_at__isnull=True, expires_at__gt=now).filter(
        tries__lt=MAX_TRIES
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
    pk = passcode_key(passcode_id)
    # The try is counted before the comparison (security-checks PC-04), in the same UPDATE as
    # the consumption a right code needs. It locks the row until the transaction ends: every
    # other verification of this passcode waits there and then finds what this one left.
    counted = _count_try(pk, now) if pk is not None else None
    if counted is None:
        # Unknown, expired, used or out of tries (maybe by a rival just now): no guess was made.
        row = _load(pk)
        exhausted = row is not None and _alive(row, now) and row.tries >= MAX_TRIES
        return _refuse(code, VerifyResult(ok=False, max_attempts_reached=exhausted))
    email, code_hash, tries = counted
    attempt = attempts.hold(attempts.PASSCODE, email, ip)
    if not attempt.allowed:
        # The address's budget refuses: no guess was made, so the try is given back too.
        Passcode.objects.filter(pk=pk).update(tries=F("tries") - 1, used_at=None)
        return _refuse(code, VerifyResult(ok=False, max_attempts_reached=True))
    salt, _, stored = code_hash.partition("$")
    if not hmac.compare_digest(_digest(salt, code), stored):
        Passcode.objects.filter(pk=pk).update(used_at=None)  # a wrong code: only the try counts
        attempt.failed()
        return VerifyResult(ok=False, max_attempts_reached=tries >= MAX_TRIES)
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


def passcode_key(passcode_id: str | None) -> uuid.UUID | None:
    """The primary key a passcode id names; None when it is missing or not a UUID."""
    if not passcode_id:
        return None
    try:
        return uuid.UUID(str(passcode_id))
    except ValueError:
        return None


def _load(pk: uuid.UUID | None) -> Passcode | None:
    return Passcode.objects.filter(pk=pk).first() if pk is not None else None


def _owner(key: uuid.UUID) -> Subquery:
    """The id of the account ``key`` names, or NULL, as a subquery of the INSERT."""
    return Subquery(Account.objects.filter(pk=key).values("pk")[:1])


def _insert_replacing(alias: str, values: dict[str, object], owner: uuid.UUID) -> None:
    """``issue``'s writes in one statement (PostgreSQL): kill the flow's live passcodes and
    INSERT the new one with its owner looked up, as the ORM does in three."""
    connection = connections[alias]
    prep = {
        name: _FIELDS[name].get_db_prep_value(value, connection) for name, value in values.items()
    }
    now = prep["created_at"]
    params = (
        now,
        prep["flow_id"],
        now,
        prep["id"],
        prep["email"],
        _ID.get_db_prep_value(owner, connection),
        prep["flow_id"],
        prep["code_hash"],
        now,
        prep["expires_at"],
    )
    sql = _insert_replacing_sql(alias)  # quoted names only; the values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@functools.lru_cache(maxsize=8)
def _insert_replacing_sql(alias: str) -> str:
    quote = connections[alias].ops.quote_name
    table, account_table = quote(Passcode._meta.db_table), quote(Account._meta.db_table)
    pk, email, owner, flow, code_hash, tries, created, expires, used = (
        quote(Passcode._meta.get_field(name).column)
        for name in (
            "id", "email", "account", "flow_id", "code_hash", "tries", "created_at", "expires_at",
            "used_at",
        )
    )  # fmt: skip
    account_pk = quote(Account._meta.pk.column)
    # A data-modifying WITH runs to completion whether or not the INSERT reads it. Only quoted
    # names of these models' tables go into the text; every value is a parameter.
    return (
        f"WITH older AS (UPDATE {table} SET {expires} = %s"  # noqa: S608
        f" WHERE {flow} = %s AND {used} IS NULL AND {expires} > %s)"
        f" INSERT INTO {table} ({pk}, {email}, {owner}, {flow}, {code_hash}, {tries}, {created},"
        f" {expires}, {used}) VALUES (%s, %s,"
        f" (SELECT {account_pk} FROM {account_table} WHERE {account_pk} = %s),"
        f" %s, %s, 0, %s, %s, NULL)"
    )


def _count_try(pk: uuid.UUID, now: datetime) -> tuple[str, str, int] | None:
    """Count a try on a live passcode with tries left and mark it used, locking its row; its
    address, stored hash and new try count, or None when no such passcode (nothing written)."""
    alias = router.db_for_write(Passcode)
    connection = connections[alias]
    if not _update_returns(connection):
        return _count_try_then_read(pk, now)
    at = _USED_AT.get_db_prep_value(now, connection)
    params = (at, _ID.get_db_prep_value(pk, connection), MAX_TRIES, at)
    sql = _count_try_sql(alias)  # quoted names of this model only; the values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchone()
    return (found[0], found[1], found[2]) if found else None


_FIELDS = {field.name: field for field in Passcode._meta.concrete_fields}
_ID = _FIELDS["id"]
_USED_AT = _FIELDS["used_at"]


def _update_returns(connection) -> bool:
    """PostgreSQL, and SQLite from 3.35 (the version that can return columns from an INSERT)."""
    vendor_ok = connection.vendor in ("postgresql", "sqlite")
    return vendor_ok and connection.features.can_return_columns_from_insert


@functools.lru_cache(maxsize=8)
def _count_try_sql(alias: str) -> str:
    quote = connections[alias].ops.quote_name
    table, pk, email, code_hash, tries, used_at, expires_at = map(
        quote,
        (Passcode._meta.db_table, "id", "email", "code_hash", "tries", "used_at", "expires_at"),
    )
    # Only quoted names of this model's table go into the text; every value is a parameter.
    return (
        f"UPDATE {table} SET {tries} = {tries} + 1, {used_at} = %s"  # noqa: S608
        f" WHERE {pk} = %s AND {tries} < %s AND {used_at} IS NULL AND {expires_at} > %s"
        f" RETURNING {email}, {code_hash}, {tries}"
    )


def _count_try_then_read(pk: uuid.UUID, now: datetime) -> tuple[str, str, int] | None:
    """``_count_try`` for a backend without UPDATE ... RETURNING: the row locked and read first."""
    row = Passcode.objects.select_for_update().filter(pk=pk).first()
    if row is None or not _alive(row, now) or row.tries >= MAX_TRIES:
        return None
    Passcode.objects.filter(pk=pk).update(tries=F("tries") + 1, used_at=now)
    return row.email, row.code_hash, row.tries + 1


def _alive(row: Passcode, now: datetime) -> bool:
    return row.used_at is None and now < row.expires_at
