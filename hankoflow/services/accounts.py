"""Accounts: finding, creating and describing the users that sign in through hankoflow.

Flows, the public API (``GET /me``, platform.md §2.7) and later the admin API call these
functions; they are the only code that writes ``Account``, ``Email`` and ``Username`` rows.
Every address and username is normalised (stripped, lower-cased) before storage and lookup,
as Hanko does (platform.md §1 "Email addresses"; flow-api.md §4.0.2.2 trims and lower-cases
identifiers). ``profile_data`` builds the ``user`` payload of flow-api.md §4.6.1.

Writes run in a savepoint of the caller's transaction, so a flow step stays atomic. A value
that belongs to another account raises ``EmailAlreadyExists`` / ``UsernameAlreadyExists``
(also when a concurrent request wins the race), which actions turn into the catalogue's
``email_already_exists`` / ``username_already_exists``.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.hashers import identify_hasher, is_password_usable
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery, prefetch_related_objects
from django.db.transaction import TransactionManagementError

from hankoflow.adapter import get_adapter
from hankoflow.models import Account, Email, OTPSecret, Username, WebauthnCredential
from hankoflow.services import account_load, lazy_transaction


class EmailAlreadyExists(Exception):
    """The address belongs to another account."""


class UsernameAlreadyExists(Exception):
    """The username belongs to another account."""


@dataclass(frozen=True)
class AccountFacts:
    """What flows need to know about an account to choose the next state."""

    has_password: bool
    has_username: bool
    has_emails: bool
    primary_email: str | None
    username: str | None
    has_passkey: bool = False
    has_webauthn_credential: bool = False
    has_security_key: bool = False
    has_otp_secret: bool = False


@dataclass(frozen=True)
class IdentifiedAccount:
    """The id and facts of the account a login identifier names (no model loaded)."""

    id: str
    facts: AccountFacts


NO_FACTS = AccountFacts(
    has_password=False, has_username=False, has_emails=False, primary_email=None, username=None
)
"""What is known of an address without an account: nothing."""


def normalise_email(address: str) -> str:
    return address.strip().lower()


def normalise_username(name: str) -> str:
    return name.strip().lower()


# --- Lookups ------------------------------------------------------------------------------------


# What a step usually needs of an account, loaded with it: the user, username and TOTP secret
# joined, the emails and WebAuthn credentials as JSON arrays in the same row (``_load``). Writes
# through this module (and webauthn/totp) call ``forget_cached`` so a later read in the same step
# is fresh.
_JOINED = ("user", "username", "otp_secret")
_PREFETCHED = ("emails", "webauthn_credentials")

# Matches no account: lookups that find nothing still run their prefetch queries for it.
_NO_ACCOUNT = uuid.UUID(int=0)


def get(account_id: str | uuid.UUID) -> Account | None:
    """The account with this Hanko user id, or None (also for a malformed id)."""
    return _load("pk", account_key(account_id))


def find_by_email(address: str, *, lock: bool = False) -> Account | None:
    """``lock``: also lock the account's row until the transaction ends, as ``lock_row`` does,
    in the same statement (for a step that may sign the account in: ``sessions.issue``)."""
    return _load("email", normalise_email(address), lock=lock)


def find_by_username(name: str, *, lock: bool = False) -> Account | None:
    return _load("username", normalise_username(name), lock=lock)


def identify_by_email(address: str) -> IdentifiedAccount | None:
    """Who owns this address, and which credentials they have; None for an unknown address."""
    return _identify("emails__address", normalise_email(address))


def identify_by_username(name: str) -> IdentifiedAccount | None:
    return _identify("username__username", normalise_username(name))


# Stands for the identifier while the query is compiled; never sent to the database.
_PLACEHOLDER = "\x00identifier\x00"


def _identify(lookup: str, value: str) -> IdentifiedAccount | None:
    """One query of scalars whether the account exists or not: a known identifier brings back
    one short row, an unknown one none, and no model is built either way, so an attacker cannot
    time the difference (security-checks PC-08, ASVS 6.3.8). The ORM compiles the query once per
    database and lookup; compiling it on every request cost more than running it."""
    alias = router.db_for_read(Account)
    if account_load.supports(connections[alias]):
        sql, template = _identify_statement(alias, lookup)
    else:
        sql, template = _identify_query(alias, lookup)
    params = [value if param == _PLACEHOLDER else param for param in template]
    connection = connections[alias]
    # A read of committed rows without a lock: it need not begin the step's transaction.
    with lazy_transaction.outside_transaction(connection), connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    pk, password, username, primary_email, emails, passkey, security_key, otp_secret = row
    facts = AccountFacts(
        has_password=bool(password) and is_password_usable(password),
        has_username=username is not None,
        has_emails=bool(emails),
        primary_email=primary_email,
        username=username,
        has_passkey=bool(passkey),
        has_webauthn_credential=bool(passkey or security_key),
        has_security_key=bool(security_key),
        has_otp_secret=bool(otp_secret),
    )
    return IdentifiedAccount(id=str(Account._meta.pk.to_python(pk)), facts=facts)


# The identifier tables ``_identify`` looks in: (model, column of the identifier).
_IDENTIFIED_BY = {
    "emails__address": (Email, "address"),
    "username__username": (Username, "username"),
}


@functools.lru_cache(maxsize=8)
def _identify_statement(alias: str, lookup: str) -> tuple[str, tuple[Any, ...]]:
    """``_identify_query``'s columns, written once per database (PostgreSQL, SQLite) from the
    models' tables and columns: the identifier's row joined to its account, everything else a
    subquery on the account's key. The ORM's text joins four tables and PostgreSQL took longer
    to plan it than to run it; this one plans in about half the time and sends the same
    statement found or not, whatever the account has (PC-08)."""
    quote = connections[alias].ops.quote_name

    def col(model: type[Any], name: str) -> str:
        return quote(model._meta.get_field(name).column)

    def table(model: type[Any]) -> str:
        return quote(model._meta.db_table)

    user_model = Account._meta.get_field("user").related_model
    by, by_column = _IDENTIFIED_BY[lookup]
    account_id = f"a.{col(Account, 'id')}"

    def of_account(model: type[Any], alias_: str) -> str:
        return f"FROM {table(model)} {alias_} WHERE {alias_}.{col(model, 'account')} = {account_id}"

    email_of = of_account(Email, "e")
    credential_of = of_account(WebauthnCredential, "c")
    mfa_only = f"c.{col(WebauthnCredential, 'mfa_only')}"
    columns = (
        account_id,
        f"(SELECT u.{col(user_model, 'password')} FROM {table(user_model)} u"  # noqa: S608
        f" WHERE u.{col(user_model, 'id')} = a.{col(Account, 'user')})",
        f"(SELECT n.{col(Username, 'username')} {of_account(Username, 'n')})",
        f"(SELECT e.{col(Email, 'address')} {email_of} AND e.{col(Email, 'is_primary')} LIMIT 1)",
        f"EXISTS(SELECT 1 {email_of})",
        f"EXISTS(SELECT 1 {credential_of} AND NOT {mfa_only})",
        f"EXISTS(SELECT 1 {credential_of} AND {mfa_only})",
        f"EXISTS(SELECT 1 {of_account(OTPSecret, 'o')})",
    )
    sql = (
        f"SELECT {', '.join(columns)} FROM {table(by)} k"  # noqa: S608
        f" INNER JOIN {table(Account)} a ON {account_id} = k.{col(by, 'account')}"
        f" WHERE k.{col(by, by_column)} = %s LIMIT 1"
    )
    return sql, (_PLACEHOLDER,)


@functools.lru_cache(maxsize=8)
def _identify_query(alias: str, lookup: str) -> tuple[str, tuple[Any, ...]]:
    """The ORM's text of the identifier query, for databases ``_identify_statement`` does not
    cover."""
    own = OuterRef("pk")
    credentials = WebauthnCredential.objects.filter(account=own)
    primary = Email.objects.filter(account=own, is_primary=True).order_by().values("address")[:1]
    query = (
        Account.objects.using(alias)
        .filter(**{lookup: _PLACEHOLDER})
        .order_by()
        .annotate(
            fact_password=F("user__password"),
            fact_username=F("username__username"),
            fact_primary_email=Subquery(primary),
            fact_emails=Exists(Email.objects.filter(account=own)),
            fact_passkey=Exists(credentials.filter(mfa_only=False)),
            fact_security_key=Exists(credentials.filter(mfa_only=True)),
            fact_otp_secret=Exists(OTPSecret.objects.filter(account=own)),
        )
        .values_list(
            "pk",
            "fact_password",
            "fact_username",
            "fact_primary_email",
            "fact_emails",
            "fact_passkey",
            "fact_security_key",
            "fact_otp_secret",
        )[:1]
    ).query
    sql, params = query.get_compiler(alias).as_sql()
    if params.count(_PLACEHOLDER) != 1:
        raise RuntimeError("the identifier query must take the identifier exactly once")
    return sql, tuple(params)


def get_bare(account_id: str | uuid.UUID | None) -> Account | None:
    """The account row alone (nothing joined), or None; one query whatever the id, even none."""
    return Account.objects.filter(pk=account_key(account_id)).first()


def account_key(account_id: str | uuid.UUID | None) -> uuid.UUID:
    """The primary key an account id names; one no account has for a malformed id or none, so a
    lookup by it runs the same query and finds nothing."""
    if isinstance(account_id, uuid.UUID):
        return account_id
    try:
        return uuid.UUID(str(account_id))
    except ValueError:
        return _NO_ACCOUNT


# ``_load``'s lookups as ORM filters, for databases ``account_load`` does not cover.
_LOAD_FILTERS = {"pk": "pk", "email": "emails__address", "username": "username__username"}


def _load(lookup: str, value: Any, *, lock: bool = False) -> Account | None:
    """The account that ``lookup`` (``pk``, ``email`` or ``username``) finds for ``value``, with
    what a step needs: one statement on PostgreSQL and SQLite (``account_load``), found or not,
    whatever credentials the account has (security-checks PC-08, ASVS 6.3.8). Other databases
    take the ORM's three queries, the prefetch queries run for a stand-in that matches nothing
    when no account is found, so a missing account does not answer faster there either.
    ``lock``: the account's row stays locked until the transaction ends (see ``lock_row``)."""
    alias = router.db_for_write(Account) if lock else router.db_for_read(Account)
    connection = connections[alias]
    if lock and not connection.in_atomic_block:
        raise TransactionManagementError("locking an account needs a transaction")
    if account_load.supports(connection):
        return account_load.load(connection, alias, lookup, value, lock=lock)
    condition = Q(**{_LOAD_FILTERS[lookup]: value})
    accounts = Account.objects.using(alias).select_related(*_JOINED).filter(condition)
    if lock:
        accounts = accounts.select_for_update(of=("self",))
    found = list(accounts[:1])
    prefetch_related_objects(found or [Account(pk=_NO_ACCOUNT)], *_PREFETCHED)
    return found[0] if found else None


def lock(account: Account) -> Account:
    """Lock the account's row until the transaction ends and load it afresh.

    Changes that must not race take it first and decide on what it returns: two requests each
    removing one of the last two ways to sign in would otherwise both see the other one left.
    """
    lock_row(account.pk)
    fresh = get(account.pk)
    if fresh is None:
        raise Account.DoesNotExist(account.pk)
    return fresh


def lock_row(account_id: uuid.UUID) -> None:
    """Lock the account's row until the transaction ends, loading nothing: one short statement
    written once per database (what ``select_for_update()`` sends, without compiling it on every
    login). Like the ORM, it refuses to run outside a transaction, where the lock would end at
    once."""
    alias = router.db_for_write(Account)
    connection = connections[alias]
    if not connection.in_atomic_block:
        raise TransactionManagementError("lock_row needs a transaction")
    sql = _lock_query(alias)
    with connection.cursor() as cursor:
        cursor.execute(sql, [Account._meta.pk.get_db_prep_value(account_id, connection)])
        cursor.fetchone()


@functools.lru_cache(maxsize=8)
def _lock_query(alias: str) -> str:
    connection = connections[alias]
    quote = connection.ops.quote_name
    pk = quote(Account._meta.pk.column)
    # Without row locks (SQLite) the plain SELECT runs, as the ORM would send it.
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    return f"SELECT {pk} FROM {quote(Account._meta.db_table)} WHERE {pk} = %s{lock}"  # noqa: S608


def forget_cached(account: Account) -> None:
    """Drop what ``get`` loaded with the account, after something about it changed."""
    getattr(account, "_prefetched_objects_cache", {}).clear()
    for accessor in ("username", "otp_secret"):
        account._state.fields_cache.pop(accessor, None)


def email_exists(address: str) -> bool:
    return Email.objects.filter(address=normalise_email(address)).exists()


def username_exists(name: str) -> bool:
    return Username.objects.filter(username=normalise_username(name)).exists()


def facts(
    account: Account, emails: list[Email] | None = None, username: Username | None = None
) -> AccountFacts:
    """What is known about the account's credentials; pass ``emails``/``username`` when loaded."""
    if emails is None:
        emails = list(account.emails.all())
    return _facts(account, emails, username if username is not None else username_of(account))


def _facts(account: Account, emails: list[Email], username: Username | None) -> AccountFacts:
    # The mfa_only values of the account's WebAuthn credentials: {False} passkeys only, ...
    credential_kinds = {credential.mfa_only for credential in account.webauthn_credentials.all()}
    return AccountFacts(
        has_password=has_password(account.user),
        has_username=username is not None,
        has_emails=bool(emails),
        primary_email=next((e.address for e in emails if e.is_primary), None),
        username=username.username if username else None,
        has_passkey=False in credential_kinds,
        has_webauthn_credential=bool(credential_kinds),
        has_security_key=True in credential_kinds,
        has_otp_secret=_has_otp_secret(account),
    )


def has_password(user: AbstractBaseUser) -> bool:
    """Whether the user can log in with a password (a blank hash counts as none: PW-04)."""
    return bool(user.password) and user.has_usable_password()


# --- Writes -------------------------------------------------------------------------------------


def create(
    account_id: uuid.UUID | str,
    *,
    email: str | None,
    email_verified: bool,
    username: str | None,
    password_hash: str | None,
) -> Account:
    """Create the Django user (through the adapter), its account and identifier rows.

    ``password_hash`` is an already encoded hash (``passwords.hash_password``); without one the
    user gets an unusable password. The email, if any, becomes the primary one.
    """
    email = normalise_email(email) if email else None
    username = normalise_username(username) if username else None
    if password_hash:
        identify_hasher(password_hash)  # ValueError for a raw password passed by mistake
    if email and email_exists(email):
        raise EmailAlreadyExists(email)
    if username and username_exists(username):
        raise UsernameAlreadyExists(username)
    try:
        with transaction.atomic():
            user = get_adapter().create_user(email=email, username=username)
            if password_hash:
                user.password = password_hash
                user.save(update_fields=["password"])
            account = Account.objects.create(id=_as_uuid(account_id), user=user)
            if email:
                Email.objects.create(
                    account=account, address=email, is_verified=email_verified, is_primary=True
                )
            if username:
                Username.objects.create(account=account, username=username)
    except IntegrityError:
        _raise_taken(email=email, username=username)
        raise
    return account


def add_email(account: Account, address: str, *, verified: bool) -> Email:
    """Add an address to the account; it becomes primary when the account has none.

    Adding an address the account already has returns it (marked verified if ``verified``).
    """
    address = normalise_email(address)
    # From the emails loaded with the account (``get``), when they were: a passcode login marks
    # its address verified with no query when it already is.
    existing = next((row for row in account.emails.all() if row.address == address), None)
    if existing:
        if verified and not existing.is_verified:
            existing.is_verified = True
            existing.save(update_fields=["is_verified", "updated_at"])
            forget_cached(account)
        return existing
    if email_exists(address):
        raise EmailAlreadyExists(address)
    is_primary = not account.emails.filter(is_primary=True).exists()
    try:
        with transaction.atomic():
            row = Email.objects.create(
                account=account, address=address, is_verified=verified, is_primary=is_primary
            )
            if is_primary:
                get_adapter().set_user_email(account.user, address)
    except IntegrityError:
        _raise_taken(email=address)
        raise
    forget_cached(account)
    return row


def mark_email_verified(account: Account, address: str) -> Email:
    """Mark the account's address verified, adding it (verified) if the account lacks it."""
    return add_email(account, address, verified=True)


def set_username(account: Account, name: str) -> Username:
    """Give the account this username, replacing its current one."""
    name = normalise_username(name)
    row = username_of(account)
    if row and row.username == name:
        return row
    if username_exists(name):
        raise UsernameAlreadyExists(name)
    try:
        with transaction.atomic():
            if row:
                row.username = name
                row.save(update_fields=["username", "updated_at"])
            else:
                row = Username.objects.create(account=account, username=name)
    except IntegrityError:
        _raise_taken(username=name)
        raise
    forget_cached(account)
    return row


def delete_username(account: Account) -> bool:
    """Remove the account's username; False when it had none."""
    deleted, _ = Username.objects.filter(account=account).delete()
    forget_cached(account)
    return bool(deleted)


# --- Wire representation (the user object: services/profile.py) ---------------------------------


def rfc3339(value: datetime) -> str:
    """A timestamp the way Hanko's JSON has it (platform.md §1 "Timestamps"): UTC, ``Z``,
    fractional seconds with trailing zeros trimmed (Go's RFC3339Nano), e.g.
    ``2025-01-15T12:57:56.72405Z``."""
    value = value.astimezone(UTC)
    # Four-digit years: strftime writes the year 802 as "802", which is no RFC 3339.
    text = f"{value.year:04d}-" + value.strftime("%m-%dT%H:%M:%S")
    if value.microsecond:
        text += "." + f"{value.microsecond:06d}".rstrip("0")
    return text + "Z"


# --- Helpers ------------------------------------------------------------------------------------


def _as_uuid(value: uuid.UUID | str) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def otp_secret_of(account: Account) -> OTPSecret | None:
    """The account's TOTP secret row, or None."""
    try:
        return account.otp_secret
    except ObjectDoesNotExist:
        return None


def _has_otp_secret(account: Account) -> bool:
    try:
        return account.otp_secret is not None
    except ObjectDoesNotExist:
        return False


def username_of(account: Account) -> Username | None:
    """The account's username row, or None."""
    try:
        return account.username
    except ObjectDoesNotExist:
        return None


def _raise_taken(*, email: str | None = None, username: str | None = None) -> None:
    """After an IntegrityError: raise the domain error if a rival took one of the values."""
    if email and email_exists(email):
        raise EmailAlreadyExists(email)
    if username and username_exists(username):
        raise UsernameAlreadyExists(username)
