"""Inserting a new row, or updating some fields of a stored one, with a statement written once
per model and database.

``Model.save()`` compiles its statement anew every time; on a sign-in (the session row, the audit
entry) and an email's delivery (closing its outbox row) compiling cost more than running it.
``insert`` prepares the values as the ORM does (``pre_save`` fills defaults and ``auto_now``
fields, ``get_db_prep_save`` adapts each value to the database) and sends the same statement;
``update`` sends ``save(update_fields=...)``'s UPDATE (``prepared_update`` hands it to a caller
that sends it within another statement). When anything listens to the model's ``pre_save`` or
``post_save`` signal (a host project may), both save through the ORM instead, so the signals are
sent as before.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connections, router
from django.db.models import NOT_PROVIDED, Model
from django.db.models.signals import post_save, pre_save


def insert(obj: Model) -> None:
    """Store ``obj``, a new instance whose primary key is already set (UUID default)."""
    prepared = prepared_insert(obj)
    if prepared is None:
        obj.save(force_insert=True)
        return
    alias, sql, params = prepared
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
    stored(obj, alias)


def prepared_insert(obj: Model) -> tuple[str, str, list[Any]] | None:
    """The database alias, INSERT text and parameters that store ``obj``, for a caller that
    sends them itself (with other work in one statement; then it calls ``stored``). None when
    anything listens to the model's save signals: save it through the ORM then."""
    model = type(obj)
    if _signals_heard(model):
        return None
    alias = router.db_for_write(model, instance=obj)
    connection = connections[alias]
    fields = model._meta.local_concrete_fields
    params = [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
    return alias, insert_sql(model, alias), params


def update(obj: Model, fields: tuple[str, ...]) -> None:
    """``obj.save(update_fields=fields)`` for a stored instance, without compiling it."""
    prepared = prepared_update(obj, fields)
    if prepared is None:
        obj.save(update_fields=fields)
        return
    alias, sql, params = prepared
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)


def prepared_update(obj: Model, fields: tuple[str, ...]) -> tuple[str, str, list[Any]] | None:
    """The database alias, UPDATE text and parameters that ``update`` sends, for a caller that
    sends them within another statement. None when anything listens to the model's save
    signals: save it through the ORM then."""
    model = type(obj)
    if _signals_heard(model) or not _own_columns(model, fields):
        return None
    alias = obj._state.db or router.db_for_write(model, instance=obj)
    connection = connections[alias]
    meta = model._meta
    prepared = [meta.get_field(name) for name in fields] + [meta.pk]
    params = [field.get_db_prep_save(getattr(obj, field.attname), connection) for field in prepared]
    # Quoted names of this model only; values are params.
    return alias, update_sql(model, alias, fields), params


@functools.lru_cache(maxsize=32)
def _own_columns(model: type[Model], fields: tuple[str, ...]) -> bool:
    # A field of a parent table (multi-table inheritance) or a proxy's fields are not columns of
    # the model's own table: the ORM saves those.
    local = model._meta.local_concrete_fields
    return all(model._meta.get_field(name) in local for name in fields)


def _signals_heard(model: type[Model]) -> bool:
    return pre_save.has_listeners(model) or post_save.has_listeners(model)


def stored(obj: Model, alias: str) -> None:
    """Mark ``obj`` as saved, as ``save()`` would."""
    obj._state.adding = False
    obj._state.db = alias


@functools.lru_cache(maxsize=32)
def insert_sql(model: type[Model], alias: str) -> str:
    """The INSERT of one row of ``model``, its values as parameters in field order."""
    meta = model._meta
    if (
        meta.parents
        or meta.pk.db_returning
        or any(
            hasattr(field, "get_placeholder") or field.db_default is not NOT_PROVIDED
            for field in meta.local_concrete_fields
        )
    ):
        raise ValueError(f"{meta.label}: insert() takes a plain model with its own primary key")
    quote = connections[alias].ops.quote_name
    columns = ", ".join(quote(field.column) for field in meta.local_concrete_fields)
    marks = ", ".join(["%s"] * len(meta.local_concrete_fields))
    # Only quoted names of the model's table and columns go into the text.
    return f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608


@functools.lru_cache(maxsize=32)
def update_sql(model: type[Model], alias: str, fields: tuple[str, ...]) -> str:
    """The UPDATE of ``fields`` of one row of ``model`` by primary key, values as parameters
    (the fields' in order, then the key)."""
    meta = model._meta
    quote = connections[alias].ops.quote_name
    columns = ", ".join(f"{quote(meta.get_field(name).column)} = %s" for name in fields)
    # Only quoted names of the model's table and columns go into the text.
    return f"UPDATE {quote(meta.db_table)} SET {columns} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
