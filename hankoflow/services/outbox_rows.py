"""What the email outbox and the webhook outbox share: claiming one pending row for a delivery
attempt. Both keep a row per message with ``status`` and ``next_attempt_at``.

The claim runs on every send, and compiling its query cost more than running it, so the ORM
compiles it once per database, model and set of reads (``Read``), with stand-in values; each
claim sends that text with its own values as parameters.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import connections, models

Row = TypeVar("Row", bound=models.Model)

# A retry scheduled this close to now counts as due (the task may run a moment early).
DUE_SLACK = timedelta(seconds=1)


@dataclass(frozen=True)
class Read:
    """An expression read in the claim's statement, set on the row as an attribute.

    ``build`` (a function defined once, not a fresh lambda: it is part of the cache key) takes
    one value per field of ``fields`` and returns the expression; it is called once per
    database with stand-ins, and each claim sends ``values``, prepared as those fields prepare
    them, in their place. A subquery: only the claimed row itself is locked.
    """

    build: Callable[..., Any]
    fields: tuple[models.Field, ...]
    values: tuple[Any, ...]


def claim_due(
    model: type[Row],
    pk: Any,
    *,
    alias: str,
    pending: str,
    now: datetime,
    annotate: Mapping[str, Read] | None = None,
) -> Row | None:
    """The pending row ``pk``, locked for this transaction, when its attempt is due; None when
    it is gone, no longer pending, held by another process or waiting for its retry. Call it
    inside ``transaction.atomic(using=alias)``. ``annotate``: values read in the same statement
    (``Read``), set on the row by name."""
    reads = tuple(sorted((annotate or {}).items()))
    shape = tuple((name, read.build, read.fields) for name, read in reads)
    claim = _claim_query(alias, model, pending, shape)
    connection = connections[alias]
    values = [pk, *(value for _, read in reads for value in read.values)]
    params = list(claim.template)
    for position, field, value in zip(claim.positions, claim.fields, values, strict=True):
        params[position] = field.get_db_prep_value(value, connection)
    with connection.cursor() as cursor:
        cursor.execute(claim.sql, params)
        found = cursor.fetchone()
    if found is None:
        return None
    found = list(found)
    for position, expression in claim.converted:  # as the ORM converts what it reads
        converters = connection.ops.get_db_converters(expression)
        for convert in converters + expression.get_db_converters(connection):
            found[position] = convert(found[position], expression, connection)
    count = len(claim.attnames)
    row = model.from_db(alias, claim.attnames, found[:count])  # type: ignore[attr-defined]
    for (name, _), value in zip(reads, found[count:], strict=True):
        setattr(row, name, value)
    if row.next_attempt_at and row.next_attempt_at > now + DUE_SLACK:
        return None
    return row


@dataclass(frozen=True)
class _Claim:
    sql: str
    template: tuple[Any, ...]  # the compiled parameters, stand-ins included
    positions: tuple[int, ...]  # where each value goes: the row's key, then the reads' values
    fields: tuple[models.Field, ...]  # what prepares each value
    # The selected expressions that the backend or their field converts, by position. The
    # converters themselves are taken from the connection at hand, as each thread has its own.
    converted: tuple[tuple[int, Any], ...]
    attnames: tuple[str, ...]


@functools.lru_cache(maxsize=16)
def _claim_query(
    alias: str,
    model: type[models.Model],
    pending: str,
    shape: tuple[tuple[str, Callable[..., Any], tuple[models.Field, ...]], ...],
) -> _Claim:
    # Compiled inside the caller's transaction (a locking query refuses to compile outside one).
    connection = connections[alias]
    fields = (model._meta.pk, *(field for _, _, read_fields in shape for field in read_fields))
    stand_ins = [_stand_in(field, n) for n, field in enumerate(fields)]
    key, *rest = stand_ins
    rows = (
        model._default_manager.using(alias)
        .select_for_update(skip_locked=True)
        .filter(pk=key, status=pending)
        .order_by()
    )
    annotations = {}
    for name, build, read_fields in shape:
        annotations[name] = build(*rest[: len(read_fields)])
        rest = rest[len(read_fields) :]
    compiler = rows.annotate(**annotations)[:1].query.get_compiler(alias)
    sql, params = compiler.as_sql()
    prepared = [
        field.get_db_prep_value(v, connection) for field, v in zip(fields, stand_ins, strict=True)
    ]
    if any(params.count(value) != 1 for value in prepared):
        raise RuntimeError("the claim query must take each value exactly once")
    concrete = model._meta.concrete_fields
    columns = tuple(expression for expression, _, _ in compiler.select)
    if len(columns) != len(concrete) + len(shape):
        raise RuntimeError("the claim query must select the row's fields, then the reads")
    return _Claim(
        sql=sql,
        template=tuple(params),
        positions=tuple(params.index(value) for value in prepared),
        fields=fields,
        converted=tuple(
            (position, expression)
            for position, expression in enumerate(columns)
            if connection.ops.get_db_converters(expression)
            or expression.get_db_converters(connection)
        ),
        attnames=tuple(field.attname for field in concrete),
    )


# Stand for the values while the claim is compiled; never sent to the database.
_STAND_IN_ID = uuid.UUID("5ec7e7e1-0000-4000-8000-00000000c1a1")
_STAND_IN_AT = datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)


def _stand_in(field: models.Field, n: int) -> Any:
    """A value of ``field``'s type that no compiled query holds by chance (``n``: its place)."""
    if isinstance(field, models.UUIDField):
        return uuid.UUID(int=_STAND_IN_ID.int + n)
    if isinstance(field, models.DateTimeField):
        at = _STAND_IN_AT + timedelta(microseconds=n + 1)
        return at if settings.USE_TZ else at.replace(tzinfo=None)
    if isinstance(field, models.CharField | models.TextField):
        return f"\x00stand-in {n}\x00"
    raise TypeError(f"no stand-in for {type(field).__name__} in a claim")
