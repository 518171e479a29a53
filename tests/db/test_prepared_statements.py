"""Prepared statements on PostgreSQL (project/settings.py: ``prepare_threshold`` 2), and what a
migration that changes a column's type does to a connection that prepared a statement reading it:
the reason the README says to restart the workers right after ``manage.py migrate``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.utils import NotSupportedError

from tests.db.test_postgresql_health_check import _observer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

QUERY = "SELECT id, name FROM h9_prepared WHERE id = %s"


@pytest.fixture
def connection():
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    if connection.settings_dict["OPTIONS"].get("prepare_threshold") is None:
        pytest.skip("prepared statements are off (DATABASE_PREPARED_STATEMENTS=0)")
    return connection


@pytest.fixture
def migrate(connection) -> Iterator:
    """A table of our own, and a function that runs DDL on it from another connection (as
    ``manage.py migrate`` in another process would)."""
    with _observer(connection) as other:
        other.execute("CREATE TABLE h9_prepared (id int, name varchar(10))")
        other.execute("INSERT INTO h9_prepared VALUES (1, 'a')")
        try:
            yield other.execute
        finally:
            other.execute("DROP TABLE h9_prepared")


def run(connection) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(QUERY, [1])
        return cursor.fetchone()


def prepared(connection) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_a_statement_run_twice_is_prepared(connection, migrate):
    run(connection)
    assert not any("h9_prepared" in statement for statement in prepared(connection))
    run(connection)
    run(connection)
    assert any("h9_prepared" in statement for statement in prepared(connection))


def test_an_added_column_leaves_a_prepared_statement_working(connection, migrate):
    for _ in range(3):
        run(connection)
    migrate("ALTER TABLE h9_prepared ADD COLUMN extra int")  # Django names its columns
    assert run(connection) == (1, "a")


def test_a_changed_column_type_fails_the_prepared_statement_until_the_connection_closes(
    connection, migrate
):
    for _ in range(3):
        run(connection)
    migrate("ALTER TABLE h9_prepared ALTER COLUMN name TYPE varchar(20)")  # max_length 10 -> 20

    for _ in range(2):  # outside a transaction it fails again and again on this connection
        with pytest.raises(NotSupportedError, match="cached plan must not change result type"):
            run(connection)
    # In a transaction the failure's rollback makes psycopg drop the connection's statements.
    with pytest.raises(NotSupportedError), transaction.atomic():
        run(connection)
    assert run(connection) == (1, "a")

    for _ in range(3):
        run(connection)
    migrate("ALTER TABLE h9_prepared ALTER COLUMN name TYPE text")
    connection.close()  # a restarted worker: a new connection, nothing prepared
    assert run(connection) == (1, "a")


def test_after_a_request_with_a_database_error_the_next_one_gets_a_new_connection(
    connection, migrate
):
    for _ in range(3):
        run(connection)
    migrate("ALTER TABLE h9_prepared ALTER COLUMN name TYPE varchar(20)")
    with pytest.raises(NotSupportedError):
        run(connection)  # one request fails, outside a transaction (a read in autocommit)
    connection.close_if_unusable_or_obsolete()  # its end (request_finished)
    assert run(connection) == (1, "a")  # the next one does not


def test_a_request_without_errors_keeps_its_connection_and_statements(connection, migrate):
    for _ in range(3):
        run(connection)
    before = prepared(connection)
    connection.close_if_unusable_or_obsolete()
    assert prepared(connection) == before
