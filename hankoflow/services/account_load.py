"""An account with everything a flow step reads of it, in one SQL statement (PostgreSQL, SQLite).

``accounts.get``/``find_by_email``/``find_by_username`` need the account, its Django user, its
username and TOTP secret, and the lists of its emails and WebAuthn credentials. The ORM takes
three statements for that (a join, two prefetches) and most of a login step's Python time to
build and read them. Here one statement joins the single rows and brings each list as one JSON
array column, ordered as the model orders it; the text is written once per database from the
models' tables and columns, and the rows come back as the same model instances the ORM would
build, with the same caches filled (``account.user``, ``account.emails.all()``, ...), so every
caller and ``forget_cached`` work unchanged.

The statement is the same found or not, and whatever credentials the account has: a missing
account answers with no row, not with fewer statements (security-checks PC-08).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings as django_settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, JSONField, Model

from hankoflow.models import Account, Email, OTPSecret, Username, WebauthnCredential

VENDORS = ("postgresql", "sqlite")

# The lookups ``load`` takes: by primary key, or by the unique value of one identifier table.
_BY_IDENTIFIER = {"email": (Email, "address"), "username": (Username, "username")}


def supports(connection: BaseDatabaseWrapper) -> bool:
    """Whether ``load`` can run on this database; others take the ORM's three queries."""
    return connection.vendor in VENDORS


@dataclass(frozen=True)
class _Table:
    """One model in the statement: its SQL alias and the fields selected, in column order."""

    model: type[Model]
    alias: str
    fields: tuple[Field, ...]

    @property
    def attnames(self) -> list[str]:
        return [field.attname for field in self.fields]


@dataclass(frozen=True)
class _Plan:
    sql: str
    rows: tuple[_Table, ...]  # account, user, username, TOTP secret: one column per field
    lists: tuple[tuple[str, _Table], ...]  # (accessor, table): one JSON column each
    converters: tuple[tuple[int, tuple[Any, ...], Any], ...]  # (column, converters, expression)


def load(
    connection: BaseDatabaseWrapper, alias: str, lookup: str, value: Any, *, lock: bool = False
) -> Account | None:
    """The account ``lookup`` (``pk``, ``email``, ``username``) finds for ``value``, or None;
    ``lock``: its row (not the joined ones) locked until the transaction ends."""
    plan = _plan(alias, lookup, lock)
    if lookup == "pk":
        value = Account._meta.pk.get_db_prep_value(value, connection)
    with connection.cursor() as cursor:
        cursor.execute(plan.sql, [value])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for index, converters, expression in plan.converters:
        for convert in converters:
            values[index] = convert(values[index], expression, connection)
    return _build(plan, alias, values)


def _build(plan: _Plan, alias: str, values: list[Any]) -> Account:
    instances: list[Model | None] = []
    start = 0
    for table in plan.rows:
        chunk = values[start : start + len(table.fields)]
        start += len(table.fields)
        # A LEFT JOIN that found nothing: every column NULL, the primary key too.
        present = chunk[table.fields.index(table.model._meta.pk)] is not None
        instances.append(table.model.from_db(alias, table.attnames, chunk) if present else None)
    account, user, username, otp_secret = instances
    user_field = Account._meta.get_field("user")
    user_field.set_cached_value(account, user)
    user_field.remote_field.set_cached_value(user, account)
    for accessor, related in (("username", username), ("otp_secret", otp_secret)):
        rel = Account._meta.get_field(accessor)
        rel.set_cached_value(account, related)  # None: "has none", as select_related leaves it
        if related is not None:
            rel.field.set_cached_value(related, account)
    account._prefetched_objects_cache = {}
    for (accessor, table), raw in zip(plan.lists, values[start:], strict=True):
        items = json.loads(raw) if isinstance(raw, (str, bytes)) else raw or []
        fk = Account._meta.get_field(accessor).field
        objects = []
        for item in items:
            obj = table.model.from_db(alias, table.attnames, _from_json(table.fields, item))
            fk.set_cached_value(obj, account)
            objects.append(obj)
        # What prefetch_related leaves: the related manager's queryset with its rows loaded.
        queryset = getattr(account, accessor).get_queryset()
        queryset._result_cache = objects
        queryset._prefetch_done = True
        account._prefetched_objects_cache[accessor] = queryset
    return account


def _from_json(fields: tuple[Field, ...], item: list[Any]) -> list[Any]:
    """A list row's values as the model's Python values (JSON has strings for UUIDs and times,
    SQLite numbers for booleans)."""
    values = []
    for field, raw in zip(fields, item, strict=True):
        if isinstance(field, JSONField):
            values.append(raw)  # nested as JSON already
            continue
        value = field.to_python(raw)
        if isinstance(value, datetime) and value.tzinfo is None and django_settings.USE_TZ:
            value = value.replace(tzinfo=UTC)  # SQLite stores UTC without an offset
        values.append(value)
    return values


@functools.lru_cache(maxsize=32)
def _plan(alias: str, lookup: str, lock: bool = False) -> _Plan:
    """The statement for ``lookup`` on this database. Only quoted names of the models' tables
    and columns go into its text; the value is always a parameter."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    user_field = Account._meta.get_field("user")
    rows = (
        _table(Account, "a"),
        _table(user_field.related_model, "u"),
        _table(Username, "n"),
        _table(OTPSecret, "o"),
    )
    lists = (
        ("emails", _table(Email, "e")),
        ("webauthn_credentials", _table(WebauthnCredential, "c")),
    )
    account_pk = f"a.{quote(Account._meta.pk.column)}"
    columns = [f"{t.alias}.{quote(f.column)}" for t in rows for f in t.fields]
    columns += [_json_list(connection, table, account_pk) for _, table in lists]
    joins = [
        f"INNER JOIN {quote(rows[1].model._meta.db_table)} u"
        f" ON u.{quote(user_field.target_field.column)} = a.{quote(user_field.column)}",
        *(
            f"LEFT JOIN {quote(t.model._meta.db_table)} {t.alias}"
            f" ON {t.alias}.{quote(t.model._meta.get_field('account').column)} = {account_pk}"
            for t in rows[2:]
        ),
    ]
    if lookup == "pk":
        where = f"{account_pk} = %s"
    else:
        model, name = _BY_IDENTIFIER[lookup]
        owner = quote(model._meta.get_field("account").column)
        value = quote(model._meta.get_field(name).column)
        where = (
            f"{account_pk} = (SELECT i.{owner} FROM {quote(model._meta.db_table)} i"  # noqa: S608
            f" WHERE i.{value} = %s)"
        )
    # SQLite has no row locks (its writers are serialised); the others lock the account only.
    locking = " FOR UPDATE OF a" if lock and connection.features.has_select_for_update_of else ""
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(Account._meta.db_table)} a "  # noqa: S608
        f"{' '.join(joins)} WHERE {where}{locking}"
    )
    converters = []
    index = 0
    for table in rows:
        for field in table.fields:
            expression = field.get_col(table.alias)
            found = connection.ops.get_db_converters(expression)
            found += field.get_db_converters(connection)
            if found:
                converters.append((index, tuple(found), expression))
            index += 1
    return _Plan(sql, rows, lists, tuple(converters))


def _table(model: type[Model], alias: str) -> _Table:
    return _Table(model, alias, tuple(model._meta.concrete_fields))


def _json_list(connection: BaseDatabaseWrapper, table: _Table, account_pk: str) -> str:
    """The subquery that brings the account's rows of ``table`` as one JSON array of arrays,
    in the model's ``Meta.ordering``."""
    quote = connection.ops.quote_name
    meta = table.model._meta
    t = table.alias
    fk = f"{t}.{quote(meta.get_field('account').column)}"
    order = ", ".join(
        f"{t}.{quote(meta.get_field(name.lstrip('-')).column)}"
        + (" DESC" if name.startswith("-") else "")
        for name in meta.ordering
    )
    source = f"{quote(meta.db_table)} {t} WHERE {fk} = {account_pk}"
    if connection.vendor == "postgresql":
        values = ", ".join(f"{t}.{quote(f.column)}" for f in table.fields)
        return f"(SELECT json_agg(json_build_array({values}) ORDER BY {order}) FROM {source})"  # noqa: S608
    # SQLite (3.44 first orders inside an aggregate): order the rows in a subquery. JSON text
    # columns go in as JSON, not as strings.
    values = ", ".join(
        f"json({t}.{quote(f.column)})" if isinstance(f, JSONField) else f"{t}.{quote(f.column)}"
        for f in table.fields
    )
    return (
        f"(SELECT json_group_array(json(x)) FROM"  # noqa: S608
        f" (SELECT json_array({values}) AS x FROM {source} ORDER BY {order}))"
    )


__all__ = ["VENDORS", "load", "supports"]
