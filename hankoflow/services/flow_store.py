"""The engine's ``FlowStore`` on Django's database.

Every step rotates the flow's CSRF token and saves with a version check, so of two requests on
one flow at once exactly one completes the step and the other gets the documented 403
(flow-api.md §1.9; Hanko answers a busy lock with 500 instead). How the rivals meet:

* PostgreSQL, outside any transaction (a request): the flow is read without a lock before the
  step's ``atomic`` block. A step that runs a statement of its own first locks the row at the
  version it read (``SELECT 1 ... AND version = ... FOR UPDATE``, sent before that statement),
  so a rival that saved meanwhile stops it before it looks up an account, checks a secret or
  writes, and the rivals after it wait as before; it saves inside its transaction. A step that
  runs none (most light steps of a login) is saved after the block by one
  ``UPDATE ... WHERE version = ...`` in autocommit: no BEGIN, no COMMIT
  (``services.lazy_transaction``). What a losing rival did before its first statement (a rate
  limit's count in the cache) stays done.
* Inside a caller's transaction, and on other databases: the step runs in one transaction with
  the row locked by ``SELECT ... FOR UPDATE``, so the second request waits, then finds the token
  rotated. SQLite has no row locks; its ``BEGIN IMMEDIATE`` serialises the writers, and the
  version check refuses the loser's update just the same.

Every request of a login chain pays for this store, so its statements are written out once
per database (from the models' table and column names) and run with parameters only: building
them through the ORM on each step cost more than the database round trips. Reads through the ORM
(flow inspection, the funnel) see the same rows.

``configured_store()`` is the store ``HANKOFLOW["FLOW_STORE"]`` names: this one ("database") or
the Redis store of ``hankoflow.services.flow_store_redis`` ("redis"), which every request path
uses.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.constants import OnConflict
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from hankoflow import names
from hankoflow.conf import settings
from hankoflow.engine import FlowRecord, FlowStore, StaleFlowError, Stash, unstored_start
from hankoflow.engine.store import MAX_HISTORY
from hankoflow.models import Account, Flow
from hankoflow.services import lazy_transaction

DATABASE = "database"
REDIS = "redis"


def configured_store() -> FlowStore:
    """A store of the kind ``HANKOFLOW["FLOW_STORE"]`` names (cheap: one per engine)."""
    if settings.FLOW_STORE == REDIS:
        from hankoflow.services.flow_store_redis import RedisFlowStore  # redis is optional

        return RedisFlowStore(settings.FLOW_STORE_CACHE)
    return DjangoFlowStore()


def in_database() -> bool:
    """Whether flows are in ``hankoflow_flow``, where flow inspection and the funnel look."""
    return settings.FLOW_STORE != REDIS


def reachable() -> bool:
    """After a failed step: can the configured store be reached? (The database is probed by
    the caller; only the Redis store has something of its own to ask.)"""
    if settings.FLOW_STORE != REDIS:
        return True
    from hankoflow.services.flow_store_redis import RedisFlowStore

    return RedisFlowStore(settings.FLOW_STORE_CACHE).reachable()


def outage_errors() -> tuple[type[BaseException], ...]:
    """The exceptions by which the configured store says it cannot be reached."""
    if settings.FLOW_STORE != REDIS:
        return ()
    from redis.exceptions import ConnectionError, TimeoutError

    return (ConnectionError, TimeoutError)


class DjangoFlowStore:
    """Stores flows in ``hankoflow_flow``."""

    def create(self, record: FlowRecord) -> None:
        connection = _connection()
        with transaction.mark_for_rollback_on_error(connection.alias):
            if not _insert(connection, _statements(connection), record):
                raise StaleFlowError(record.id)  # a random UUID that exists: never in practice

    @contextmanager
    def locked(
        self, flow_id: str, action: str = "", new: FlowRecord | None = None
    ) -> Iterator[FlowRecord | None]:
        connection = _connection()
        sql = _statements(connection)
        lazy = lazy_transaction.begins_lazily(connection)
        if not lazy or _writes.get(action, False):
            # Also on PostgreSQL for an action that wrote last time it ran here: BEGIN and the
            # locking read cost one round trip less than the read, BEGIN and the lock.
            counter = _Counter()
            counting = connection.execute_wrapper(counter) if lazy else nullcontext()
            with transaction.atomic(using=connection.alias):
                if new is not None:
                    # Stored by the step's first statement or, if it runs none, by its save.
                    take = functools.partial(_insert, connection, sql, new)
                    with _LockFirst(connection, take), counting:
                        yield new
                else:
                    with connection.cursor() as cursor:
                        cursor.execute(sql.select, (sql.uuid(flow_id),))
                        row = cursor.fetchone()
                    record = _to_record(flow_id, row, connection) if row else None
                    with counting:
                        yield record
            if counter.statements:
                _writes[action] = counter.statements > 1  # more than the flow's own UPDATE
            return
        # PostgreSQL outside any transaction: read without a lock. A step that runs a statement
        # first locks the row, still at the version read, so a rival that saved meanwhile stops
        # it before it checks a secret or writes anything; a step that runs none is saved after
        # the block by one statement, so it sends no BEGIN and no COMMIT. A first action reads
        # nothing: its "lock" is the flow's INSERT, on which a rival waits, then is refused.
        if new is not None:
            record = new
            take = functools.partial(_insert, connection, sql, new)
        else:
            with connection.cursor() as cursor:
                cursor.execute(sql.read, (sql.uuid(flow_id),))
                row = cursor.fetchone()
            if not row:
                with transaction.atomic(using=connection.alias):
                    yield None
                return
            record = _to_record(flow_id, row, connection)
            take = functools.partial(_lock_version, connection, sql, record)
        lock = _LockFirst(connection, take, lazy=True)
        deferred: list[FlowRecord] = []
        token = _deferred_save.set(deferred)
        try:
            with transaction.atomic(using=connection.alias), lock:
                yield record
        finally:
            _deferred_save.reset(token)
        if lock.done:
            _writes[action] = True
        for pending in deferred:
            _write(connection, sql, pending)

    def peek(self, flow_id: str) -> FlowRecord | None:
        connection = _connection()
        sql = _statements(connection)
        with connection.cursor() as cursor:
            cursor.execute(sql.peek, (sql.uuid(flow_id),))
            row = cursor.fetchone()
        if not row:
            return None
        record = _to_record(flow_id, row[:-1], connection)
        record.stash.state = row[-1]  # the column readers filter on; a copy of the stash's
        return record

    def save(self, record: FlowRecord) -> None:
        connection = _connection()
        deferred = _deferred_save.get()
        if deferred is not None and not lazy_transaction.started(connection):
            deferred.append(record)  # written by locked() once the empty block has closed
            return
        lock = _step_lock.get()
        if lock is not None:
            lock.done = True  # the save is the step's first statement: it is its own lock
        _write(connection, _statements(connection), record)


# The unlocked read's list of records to save after its block (see DjangoFlowStore.locked).
_deferred_save: ContextVar[list[FlowRecord] | None] = ContextVar("deferred_save", default=None)
# The step's ``_LockFirst`` while it is installed, for ``save`` to find.
_step_lock: ContextVar[_LockFirst | None] = ContextVar("step_lock", default=None)


# Per process, by action name: whether the action's last step here ran statements of its own.
# Only a guess at how to read the next one: either way the step is just as safe.
_writes: dict[str, bool] = {}


class _Counter:
    """An execute wrapper counting the statements it sees."""

    def __init__(self) -> None:
        self.statements = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.statements += 1
        return execute(sql, params, many, context)


class _LockFirst:
    """Installed as an execute wrapper (``with``): before the step's first statement (``lazy``:
    the first that begins its transaction), make the flow the step's (``take``: lock its row at
    the version read, or insert a new one), or stop the step (``StaleFlowError``)."""

    def __init__(
        self, connection: BaseDatabaseWrapper, take: Callable[[], bool], *, lazy: bool = False
    ):
        self.connection = connection
        self.take = take
        self.lazy = lazy
        self.done = False

    def __enter__(self) -> _LockFirst:
        self.connection.execute_wrappers.append(self)  # what execute_wrapper() does
        self._token = _step_lock.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _step_lock.reset(self._token)
        self.connection.execute_wrappers.pop()

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        # Lazily begun, a read outside the transaction (the identifier lookup) does not count.
        if not self.done and not (self.lazy and self.connection.connection.autocommit):
            self.done = True  # also for the lock's own statement, which comes through here
            if not self.take():
                raise StaleFlowError("the flow changed since it was read")
        return execute(sql, params, many, context)


def _lock_version(connection: BaseDatabaseWrapper, sql: _Statements, record: FlowRecord) -> bool:
    """Lock the flow's row if it is still at the record's version."""
    with connection.cursor() as cursor:  # its own cursor: logged, counted
        cursor.execute(sql.version_lock, (sql.uuid(record.id), record.version))
        return cursor.fetchone() is not None


def _insert(connection: BaseDatabaseWrapper, sql: _Statements, record: FlowRecord) -> bool:
    """Store a flow unless its id exists; whether it was stored."""
    now = timezone.now()  # as auto_now_add would
    # A flow stored at its first action dates from its start (its id tells when).
    created = now if record.stored else unstored_start.started_at(record.id) or now
    params = (
        sql.uuid(record.id),
        record.flow_name,
        *_changed_columns(record),
        connection.ops.adapt_datetimefield_value(record.expires_at),
        connection.ops.adapt_datetimefield_value(created),
        connection.ops.adapt_datetimefield_value(now),
        sql.uuid(account_id_of(record.stash)),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql.insert, params)
        inserted = cursor.rowcount == 1
    if inserted:
        record.stored = True
    return inserted


def _update(connection: BaseDatabaseWrapper, sql: _Statements, record: FlowRecord) -> None:
    params = (
        *_changed_columns(record),
        connection.ops.adapt_datetimefield_value(timezone.now()),  # as auto_now would
        sql.uuid(account_id_of(record.stash)),
        sql.uuid(record.id),
        record.version - 1,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql.update, params)
        updated = cursor.rowcount
    if updated != 1:
        raise StaleFlowError(record.id)


def _write(connection: BaseDatabaseWrapper, sql: _Statements, record: FlowRecord) -> None:
    """Save a step: the UPDATE of a stored flow, the INSERT of one stored at its first action."""
    if record.stored:
        _update(connection, sql, record)
    elif not _insert(connection, sql, record):
        raise StaleFlowError(record.id)


@dataclass(frozen=True)
class _Statements:
    """The store's SQL for one database, parameters in the order the methods above pass them."""

    select: str
    read: str
    version_lock: str
    peek: str
    insert: str
    update: str
    native_uuid: bool

    def uuid(self, value: str | uuid.UUID) -> uuid.UUID | str:
        value = value if isinstance(value, uuid.UUID) else uuid.UUID(value)
        return value if self.native_uuid else value.hex


_prepared: dict[tuple[str, str], _Statements] = {}

# The columns a step changes, in the order ``_changed_columns`` gives their values.
_STEP_FIELDS = ("state", "stash", "csrf_token_hash", "version", "language", "history")
_JSON_FIELDS = {"stash", "history"}
_LOADED_FIELDS = (
    "name",
    "stash",
    "csrf_token_hash",
    "expires_at",
    "version",
    "language",
    "history",
)


def _connection() -> BaseDatabaseWrapper:
    return connections[router.db_for_write(Flow)]


def _statements(connection: BaseDatabaseWrapper) -> _Statements:
    key = (connection.alias, connection.vendor)
    if key not in _prepared:
        _prepared[key] = _prepare(connection)
    return _prepared[key]


def _prepare(connection: BaseDatabaseWrapper) -> _Statements:
    # Only quoted table and column names from the models go into the text; values are parameters.
    quote = connection.ops.quote_name
    flow, account = Flow._meta, Account._meta
    table = quote(flow.db_table)

    def column(name: str) -> str:
        return quote(flow.get_field(name).column)

    def columns(fields: tuple[str, ...]) -> str:
        return ", ".join(column(name) for name in fields)

    def value(name: str) -> str:
        # PostgreSQL: the JSON text goes in as a literal cast to jsonb, as Django's adapter does.
        return "%s::jsonb" if name in _JSON_FIELDS and connection.vendor == "postgresql" else "%s"

    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    where_id = f"WHERE {column('id')} = %s"
    loaded = f"SELECT {columns(_LOADED_FIELDS)} FROM {table} {where_id}"  # noqa: S608
    select = f"{loaded}{lock}"
    version_lock = f"SELECT 1 FROM {table} {where_id} AND {column('version')} = %s{lock}"  # noqa: S608
    peek = f"SELECT {columns((*_LOADED_FIELDS, 'state'))} FROM {table} {where_id}"  # noqa: S608

    # The user is looked up inside the same INSERT or UPDATE, whatever the stash holds: the SQL
    # a step runs must not tell a registered address from a new one (security-checks PC-08).
    user_column, account_table = account.get_field("user").column, account.db_table
    user_of_account = (
        f"(SELECT {quote(user_column)} FROM {quote(account_table)}"  # noqa: S608
        f" WHERE {quote(account.pk.column)} = %s)"
    )

    # An existing id is left alone (rowcount 0): the caller decides what that means.
    inserted = ("id", "name", *_STEP_FIELDS, "expires_at", "created_at", "updated_at")
    placeholders = ", ".join([*(value(name) for name in inserted), user_of_account])
    ignore = OnConflict.IGNORE
    insert = (
        f"{connection.ops.insert_statement(on_conflict=ignore)} {table}"
        f" ({columns((*inserted, 'user'))}) VALUES ({placeholders})"
        f" {connection.ops.on_conflict_suffix_sql([], ignore, [], [])}"
    ).rstrip()
    assignments = [f"{column(name)} = {value(name)}" for name in (*_STEP_FIELDS, "updated_at")]
    assignments.append(f"{column('user')} = {user_of_account}")
    where_version = f"{where_id} AND {column('version')} = %s"
    update = f"UPDATE {table} SET {', '.join(assignments)} {where_version}"  # noqa: S608

    native_uuid = connection.features.has_native_uuid_field
    return _Statements(
        select=select,
        read=loaded,
        version_lock=version_lock,
        peek=peek,
        insert=insert,
        update=update,
        native_uuid=native_uuid,
    )


def _changed_columns(record: FlowRecord) -> tuple[Any, ...]:
    """The values of ``_STEP_FIELDS``: what a step changes."""
    return (
        record.stash.state,
        _json(record.stash.to_dict(copy=False)),  # serialised at once: nothing to copy
        record.csrf_token_hash,
        record.version,
        record.facts.get("language", ""),
        _json(record.history[-MAX_HISTORY:]),
    )


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def account_id_of(stash: Stash) -> uuid.UUID:
    """The stash's account id; Hanko's nil id when there is none or it is not a UUID.

    Registration stashes an id before the account exists, so the user appears at success.
    """
    try:
        return uuid.UUID(str(stash.get(names.STASH_USER_ID) or names.NIL_USER_ID))
    except ValueError:
        return uuid.UUID(names.NIL_USER_ID)


def _to_record(flow_id: str, row: tuple[Any, ...], connection: BaseDatabaseWrapper) -> FlowRecord:
    name, stash, csrf_token_hash, expires_at, version, language, history = row
    return FlowRecord(
        id=flow_id,
        flow_name=name,
        stash=Stash.from_dict(_loaded_json(stash)),
        csrf_token_hash=csrf_token_hash,
        expires_at=_aware(expires_at, connection),
        version=version,
        facts={"language": language},
        history=list(_loaded_json(history)),
    )


def _loaded_json(value: Any) -> Any:
    # Django has both drivers hand jsonb over as text, as SQLite does.
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _aware(value: datetime | str, connection: BaseDatabaseWrapper) -> datetime:
    """What the ORM's converters make of a datetime column (SQLite stores naive UTC text)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if timezone.is_naive(value):
        value = timezone.make_aware(value, connection.timezone)
    return value
