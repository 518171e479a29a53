"""Django's PostgreSQL backend whose connection health check usually sends nothing, and which
replaces a connection after a database error when it prepares statements.

With ``CONN_HEALTH_CHECKS`` Django checks a persistent connection before the first query of each
request with ``SELECT 1``: a round trip that costs client and server CPU on every request (a
Hanko login chain is five requests, so five probes). Most of the time the socket alone can
answer. A live connection that is idle between requests has nothing to read: the server sends
nothing unasked. One the server closed (a restart, ``pg_terminate_backend``,
``idle_session_timeout``) has its FATAL message or the end of the stream waiting, so its socket
polls readable. So ``is_usable()`` polls the socket with a zero timeout first: nothing to read on
an open, idle connection means usable, no query. Anything else (readable, a closed or broken
connection, a transaction open or failed, psycopg 2, an unexpected error) falls back to Django's
``SELECT 1``, whose answer then decides; a false alarm, such as a NOTIFY, only costs that probe.

What the socket cannot show: a server that vanished without closing (a host powered off, a
network partition) leaves nothing to read, so the check says usable; the request's first query
then fails as it would have without the check, and the connection is dropped at the end of
the request (errors_occurred), before the next one. Django's probe would have waited on such a
server too, until TCP gave up.

Prepared statements (``prepare_threshold`` in OPTIONS) outlive a migration on a persistent
connection; ``close_if_unusable_or_obsolete()`` says why a request with a database error ends
its connection.

Only Django and psycopg are imported here: the bench's django-allauth peer uses this ENGINE from
a virtualenv without hankoflow's dependencies.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import is_psycopg3

if is_psycopg3:
    from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        """Django's check, asked only when the socket alone cannot say (module docstring)."""
        if is_psycopg3 and self.connection is not None and _idle_and_quiet(self.connection):
            return True
        return super().is_usable()

    def close_if_unusable_or_obsolete(self) -> None:
        """After a request with a database error, start the next one on a new connection.

        A statement prepared before a migration changed the type of a column it reads fails
        ("cached plan must not change result type") each time it runs outside a transaction,
        until its connection closes: psycopg drops a connection's prepared statements on a
        rollback, not after a failed statement in autocommit. So one request fails, not every
        request until CONN_MAX_AGE. Database errors are rare; a reconnect after one is cheap.
        """
        if self.errors_occurred and _prepares_statements(self.connection):
            self.close()
            return
        super().close_if_unusable_or_obsolete()


def _prepares_statements(connection: object) -> bool:
    return is_psycopg3 and getattr(connection, "prepare_threshold", None) is not None


def _idle_and_quiet(connection: object) -> bool:
    """Whether a psycopg 3 connection is open, idle outside a transaction and has nothing to
    read. False when in doubt: the caller then asks the server."""
    try:
        info = connection.info
        if connection.closed or connection.broken:
            return False
        if info.status != pq.ConnStatus.OK:
            return False
        if info.transaction_status != pq.TransactionStatus.IDLE:
            return False
        return not _readable(connection.fileno())
    except Exception:  # noqa: BLE001 (anything unexpected: Django's own check decides)
        return False


def _readable(fd: int) -> bool:
    """Whether the socket has data or an end of stream waiting (or an error), without waiting."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))  # POLLHUP/POLLERR/POLLNVAL are reported even if not asked
    readable, _, failed = select.select([fd], [], [fd], 0)  # Windows: no poll()
    return bool(readable or failed)
