"""A step's transaction on PostgreSQL begins with its first statement, or not at all.

psycopg 3 sends ``BEGIN`` just before the first statement of a Django ``atomic`` block, and
its ``COMMIT`` sends nothing when no statement ran. A Flow API request pays a round trip for
each, on both sides of the socket, and most steps of a login chain write nothing but the flow
row. So the database flow store reads the flow before the block, locks it with the step's first
statement, and saves a step that ran none after the block with one statement
(``flow_store.DjangoFlowStore``); and a read that needs no lock can run before the block's first
statement without beginning it (``outside_transaction``).

Under READ COMMITTED, PostgreSQL's default and Django's, every statement sees what was committed
when it began, inside a transaction or not, and a plain SELECT takes no row lock: such a read
sees the same rows either way. Under a stricter isolation level (a project's
``OPTIONS["isolation_level"]``), or on any other database, everything stays inside the block.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db.backends.base.base import BaseDatabaseWrapper


def begins_lazily(connection: BaseDatabaseWrapper) -> bool:
    """Whether a block opened now on ``connection`` would send nothing until its first statement:
    PostgreSQL on psycopg 3 at READ COMMITTED, outside any ``atomic`` block. (SQLite's
    ``BEGIN IMMEDIATE`` is sent when the block opens: it is the lock.)"""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return False
    connection.ensure_connection()
    return _psycopg_read_committed(connection.connection)


def started(connection: BaseDatabaseWrapper) -> bool:
    """Whether the current block has sent a statement, or holds work for its commit (after which
    a save must not come: ``on_commit`` callbacks run when the block closes)."""
    from psycopg import pq

    idle = connection.connection.info.transaction_status == pq.TransactionStatus.IDLE
    return not idle or bool(connection.run_on_commit)


@contextmanager
def outside_transaction(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Run the statements of the ``with`` body (reads that need no lock) in autocommit when the
    enclosing ``atomic`` block has sent nothing yet, so they do not begin its transaction."""
    raw = connection.connection
    if (
        connection.vendor != "postgresql"
        or not connection.in_atomic_block
        or not _psycopg_read_committed(raw)
        or started(connection)
    ):
        yield
        return
    raw.autocommit = True  # psycopg allows it while idle; Django's own flag stays as it is
    try:
        yield
    finally:
        raw.autocommit = False


def _psycopg_read_committed(raw: object) -> bool:
    """Whether ``raw`` is a psycopg 3 connection at READ COMMITTED."""
    if raw is None or not hasattr(raw, "info"):
        return False
    from psycopg import IsolationLevel

    return getattr(raw, "isolation_level", None) in (None, IsolationLevel.READ_COMMITTED)
