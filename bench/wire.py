"""What libpq really sends on a Django database connection, read from libpq's own trace.

Django's query log is not the wire: it logs a ``BEGIN`` and a ``COMMIT`` for every ``atomic``
block, while psycopg 3 sends them only around a block that ran a statement
(``hankoflow.services.lazy_transaction``). ``python -m bench.queries`` counts the transaction
control really sent with this, and the tests of that module read the statements with it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def sent_statements(connection: Any) -> Iterator[list[str] | None]:
    """The texts of the ``Query`` and ``Parse`` messages libpq sends on ``connection`` inside
    the block, in order, filled in when the block ends (e.g. ``BEGIN``, or a statement's SQL;
    a ``Parse`` text keeps its parameter types after it); None when the connection is not
    PostgreSQL on psycopg 3. Statements are not prepared meanwhile: a prepared statement's
    ``Bind`` names it without its text."""
    connection.ensure_connection()
    raw = connection.connection
    pgconn = getattr(raw, "pgconn", None)
    if connection.vendor != "postgresql" or pgconn is None:
        yield None
        return
    from psycopg import pq

    sent: list[str] = []
    threshold = raw.prepare_threshold
    raw.prepare_threshold = None
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield sent
        finally:
            pgconn.untrace()
            raw.prepare_threshold = threshold
            trace.seek(0)
            sent.extend(_texts(trace.read().splitlines()))


def _texts(lines: list[str]) -> Iterator[str]:
    for line in lines:
        direction, _, kind, *rest = line.split("\t")
        kind = kind.strip()
        if direction != "F" or kind not in ("Query", "Parse"):
            continue
        # Query "<text>"; Parse "<statement name>" "<text>" <parameter types>
        field = rest[0].strip() if rest else '""'
        if kind == "Parse":
            field = field[field.index('"', 1) + 1 :].strip()
        yield field[1:-1] if kind == "Query" else field[1:]
