"""hankoflow.db.postgresql: Django's PostgreSQL backend whose health check (CONN_HEALTH_CHECKS)
asks the socket before it sends ``SELECT 1``.

The first tests need no server: a socket pair stands in for the connection's socket. The slow
ones use the test database: pg_stat_activity shows whether the server received a statement, and
``pg_terminate_backend`` closes a connection from the server's side.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from unittest import mock

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.postgresql import base as django_base
from psycopg import pq

from hankoflow.db.postgresql import base


@dataclass
class Info:
    status: pq.ConnStatus = pq.ConnStatus.OK
    transaction_status: pq.TransactionStatus = pq.TransactionStatus.IDLE


@dataclass
class FakeConnection:
    """What the check reads of a psycopg 3 connection, on one end of a socket pair."""

    sock: socket.socket
    info: Info = field(default_factory=Info)
    closed: bool = False
    broken: bool = False
    prepare_threshold: int | None = None

    def fileno(self) -> int:
        return self.sock.fileno()


@pytest.fixture
def pair() -> Iterator[tuple[FakeConnection, socket.socket]]:
    ours, server = socket.socketpair()
    try:
        yield FakeConnection(ours), server
    finally:
        ours.close()
        server.close()


@pytest.fixture
def wrapper() -> base.DatabaseWrapper:
    return base.DatabaseWrapper({**connections.settings[DEFAULT_DB_ALIAS]}, DEFAULT_DB_ALIAS)


def test_an_open_idle_connection_with_nothing_to_read_is_usable_without_a_query(pair, wrapper):
    wrapper.connection, _ = pair
    with mock.patch.object(django_base.DatabaseWrapper, "is_usable") as select_1:
        assert wrapper.is_usable() is True
    select_1.assert_not_called()


@pytest.mark.parametrize("django_says", [True, False])
def test_a_socket_with_something_to_read_is_left_to_djangos_select_1(pair, wrapper, django_says):
    connection, server = pair
    server.sendall(b"E")  # what a FATAL message starts with
    wrapper.connection = connection
    with mock.patch.object(
        django_base.DatabaseWrapper, "is_usable", return_value=django_says
    ) as select_1:
        assert wrapper.is_usable() is django_says
    select_1.assert_called_once()


def test_a_socket_the_server_closed_is_left_to_djangos_select_1(pair, wrapper):
    connection, server = pair
    server.close()  # end of stream, no message
    wrapper.connection = connection
    with mock.patch.object(django_base.DatabaseWrapper, "is_usable", return_value=False):
        assert wrapper.is_usable() is False


@pytest.mark.parametrize(
    "change",
    [
        {"closed": True},
        {"broken": True},
        {"info": Info(status=pq.ConnStatus.BAD)},
        {"info": Info(transaction_status=pq.TransactionStatus.INTRANS)},
        {"info": Info(transaction_status=pq.TransactionStatus.INERROR)},
        {"info": Info(transaction_status=pq.TransactionStatus.ACTIVE)},
    ],
    ids=["closed", "broken", "bad-status", "in-transaction", "failed-transaction", "busy"],
)
def test_a_connection_not_open_and_idle_is_left_to_djangos_select_1(pair, wrapper, change):
    connection, _ = pair
    wrapper.connection = FakeConnection(connection.sock, **change)
    with mock.patch.object(
        django_base.DatabaseWrapper, "is_usable", return_value=False
    ) as select_1:
        assert wrapper.is_usable() is False
    select_1.assert_called_once()


def test_anything_unexpected_is_left_to_djangos_select_1(wrapper):
    wrapper.connection = object()  # no .info, no .fileno(): e.g. a psycopg 2 connection
    with mock.patch.object(django_base.DatabaseWrapper, "is_usable", return_value=True) as select_1:
        assert wrapper.is_usable() is True
    select_1.assert_called_once()


def test_without_poll_select_tells_the_same(pair, monkeypatch):
    connection, server = pair
    monkeypatch.delattr(select, "poll")  # Windows
    assert base._idle_and_quiet(connection) is True
    server.sendall(b"E")
    assert base._idle_and_quiet(connection) is False


@pytest.mark.parametrize(
    ("threshold", "errors", "closed"), [(2, True, True), (None, True, False), (2, False, False)]
)
def test_a_request_with_a_database_error_ends_a_connection_that_prepares_statements(
    pair, wrapper, threshold, errors, closed
):
    # Why: tests/db/test_prepared_statements.py (a statement prepared before a migration).
    connection, _ = pair
    connection.prepare_threshold = threshold
    wrapper.connection, wrapper.errors_occurred = connection, errors
    with (
        mock.patch.object(wrapper, "close") as close,
        mock.patch.object(django_base.DatabaseWrapper, "close_if_unusable_or_obsolete") as django,
    ):
        wrapper.close_if_unusable_or_obsolete()
    assert close.called is closed
    assert django.called is not closed


# --- on PostgreSQL ---------------------------------------------------------------------------


def _postgres_connection():
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    return connection


def _observer(connection) -> psycopg.Connection:
    """A plain psycopg connection of our own, to watch and end the wrapper's server process."""
    params = connection.get_connection_params()
    for name in ("cursor_factory", "server_side_binding", "prepare_threshold", "context"):
        params.pop(name, None)
    return psycopg.connect(**params, autocommit=True)


def _last_statement(observer: psycopg.Connection, pid: int) -> tuple:
    return observer.execute(
        "SELECT query_start, query FROM pg_stat_activity WHERE pid = %s", [pid]
    ).fetchone()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_healthy_reused_connection_passes_the_check_with_no_statement_sent():
    connection = _postgres_connection()
    assert isinstance(connection, base.DatabaseWrapper)
    assert connection.health_check_enabled
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with _observer(connection) as observer:
        before = _last_statement(observer, pid)
        # A request ends, the next one begins with the health check.
        connection.close_if_unusable_or_obsolete()
        assert not connection.health_check_done
        connection.close_if_health_check_failed()
        assert connection.health_check_done
        assert _last_statement(observer, pid) == before  # the server received nothing
        assert connection.connection.info.backend_pid == pid  # and the connection was kept

        # The measure is honest: Django's own check is seen.
        assert django_base.DatabaseWrapper.is_usable(connection)
        assert _last_statement(observer, pid)[1] == "SELECT 1"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_ended_fails_the_check_and_the_next_query_reconnects():
    connection = _postgres_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with _observer(connection) as observer:
        assert observer.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
    # The server's FATAL message arrives on its own; wait for it (no assertion on time).
    readable, _, _ = select.select([connection.connection.fileno()], [], [], 10)
    assert readable

    assert connection.is_usable() is False
    connection.close_if_unusable_or_obsolete()  # the request's end
    with connection.cursor() as cursor:  # the next request: the check closes, a query reconnects
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
