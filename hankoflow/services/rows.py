"""Inserting one new row with a statement written once per model and database.

``Model.save()`` compiles its INSERT anew every time; on a sign-in (the session row, the audit
entry) compiling cost more than running it. ``insert`` prepares the values as the ORM does
(``pre_save`` fills defaults and ``auto_now`` fields, ``get_db_prep_save`` adapts each value to
the database) and sends the same statement. When anything listens to the model's ``pre_save`` or
``post_save`` signal (a host project may), it saves through the ORM instead, so the signals are
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
    if pre_save.has_listeners(model) or post_save.has_listeners(model):
        return None
    alias = router.db_for_write(model, instance=obj)
    connection = connections[alias]
    fields = model._meta.local_concrete_fields
    params = [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
    return alias, insert_sql(model, alias), params


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
