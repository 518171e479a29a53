"""One budget for wrong guesses at every secret: passwords, email passcodes and TOTP codes
(security-checks PW-06, PC-05, TO-05; NIST SP 800-63B-4 §3.2.2).

Each attempt is counted for a kind of secret and a subject (the account id; for passcodes the
normalised address, whether or not an account has it) twice, in ``AttemptBudget`` rows: for the
client's network (IPv4 /24, IPv6 /64) and across all networks. Both count consecutive failures.
A success resets the count of its own network and the count across networks, never another
network's; a day without a failure (``CEILING_COOLDOWN``) forgets a count.

* One network gets ``NETWORK_FREE`` attempts back to back; after that each failure doubles the
  wait before the next one (``FIRST_DELAY``, 2 s, 4 s, ... at most ``MAX_DELAY``), and after
  ``CEILING`` failures the network is refused until a day has passed without one.
* All networks together get ``SUBJECT_FREE`` failures, then the same doubling wait, and the same
  ceiling of ``CEILING`` consecutive failures, NIST's limit.
* Networks where the subject succeeded within ``KNOWN_NETWORK_FOR`` answer only to their own
  count: the count across networks does not hold them.

So an attacker, from any number of networks and flows, gets about ``SUBJECT_FREE`` guesses at
once, about ten more in the next twenty minutes, then one per ``MAX_DELAY``, and at most
``CEILING`` before a day's pause; asking for a new passcode, starting a new flow or changing
address inside a network buys nothing. What the attacker can do to the person: make a new device
on a new network wait up to ``MAX_DELAY`` between attempts, or a day once the ceiling is
reached. What they cannot: slow or lock the networks the person signed in from in the last
``KNOWN_NETWORK_FOR`` (unless they share that network), touch the other kinds of secret, or
learn from the answers whether an account exists (``hold_unknown`` answers the same for a login
identifier that has no account, from the cache, writing no rows).

Before the secret is compared, the attempt takes the subject's rows (``hold``): an unlocked read
that refuses most attempts the budget does not allow, then row locks (the row across networks
first, then the network's, always in that order, in one statement; rows it creates count the
attempt from their INSERT on and need no lock, as no other attempt sees them before the
transaction ends). The locks are held until the transaction ends, so concurrent guesses wait for
each other and cannot get more comparisons than the budget allows. The caller then reports the
outcome on the same rows: ``Attempt.failed`` counts it, ``Attempt.succeeded`` resets the counts
(writing nothing when they are already clean), ``Attempt.release`` takes it back when it was
neither right nor wrong (a replayed TOTP code, a passcode another request used first).
``reserve`` is ``hold`` with the failure counted at once, for callers that report only
successes. The counts are written in the caller's transaction: a flow step commits on every
answer, so they persist.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import caches
from django.db import connections, router
from django.db.models import Case, F, Value, When

from hankoflow import clock
from hankoflow.conf import settings
from hankoflow.models import AttemptBudget
from hankoflow.models.attempts import ALL_NETWORKS

logger = logging.getLogger(__name__)

NETWORK_FREE = 5
"""Failures from one network before waits begin: a person mistyping a few times never waits."""

SUBJECT_FREE = 10
"""Failures across all networks before waits begin for unknown networks."""

FIRST_DELAY = timedelta(seconds=1)
"""The wait after the first failure past the free ones; each further failure doubles it."""

MAX_DELAY = timedelta(minutes=15)
"""The longest wait between two attempts: bounds what an attacker can impose on the person."""

CEILING = 100
"""Consecutive failures after which attempts are refused (NIST SP 800-63B-4 §3.2.2: at most 100)."""

CEILING_COOLDOWN = timedelta(hours=24)
"""Time without a failure after which a count is forgotten, which lifts the ceiling."""

KNOWN_NETWORK_FOR = timedelta(days=90)
"""How long a network where the subject succeeded is exempt from the count across networks."""

IPV4_PREFIX = 24
IPV6_PREFIX = 64
"""One network: what one household, office or provider customer usually holds."""

SUCCESS_REFRESH = timedelta(hours=1)
"""A success on a network whose success is recorded at most this long ago, with nothing to reset,
writes nothing: a network stays known for ``KNOWN_NETWORK_FOR`` minus at most this."""

UNKNOWN_NETWORK = "unknown"
"""The network of a client address that does not parse (never expected from ``client_ip``)."""

_ZERO = timedelta()
_CACHE_PREFIX = "hankoflow:attempts"
_NO_ROW = 0  # ids start at 1


@dataclass(frozen=True)
class Policy:
    """The limits of one kind of secret."""

    network_free: int
    subject_free: int
    first_delay: timedelta
    max_delay: timedelta
    ceiling: int
    cooldown: timedelta
    known_network_for: timedelta


DEFAULT_POLICY = Policy(
    network_free=NETWORK_FREE,
    subject_free=SUBJECT_FREE,
    first_delay=FIRST_DELAY,
    max_delay=MAX_DELAY,
    ceiling=CEILING,
    cooldown=CEILING_COOLDOWN,
    known_network_for=KNOWN_NETWORK_FOR,
)


@dataclass(frozen=True)
class Kind:
    """A kind of secret: the name its rows carry and its limits. Recovery codes and security
    keys become one more ``Kind`` each."""

    name: str
    policy: Policy = DEFAULT_POLICY


PASSWORD = Kind("password")
PASSCODE = Kind("passcode")
TOTP = Kind("totp")


@dataclass(frozen=True)
class _Held:
    """A row an attempt holds: what it stored before the attempt, and whether it already counts
    the attempt (a row the attempt created, or ``reserve``'s count)."""

    pk: int
    everywhere: bool  # the row across networks
    failures: int  # as stored
    current: int  # the failures that still count (``_current``)
    last_failure_at: datetime | None
    last_success_at: datetime | None
    counted: bool


@dataclass(frozen=True)
class Attempt:
    """The answer of ``hold`` and ``reserve``: allowed (the subject's rows held until the
    transaction ends), or refused with ``retry_after`` whole seconds until this network may try
    again."""

    retry_after: int = 0
    _rows: tuple[_Held, ...] = ()
    _imitation: bool = False  # ``hold_unknown``: the statements of a failure, on no row

    @property
    def allowed(self) -> bool:
        return self.retry_after == 0

    def failed(self) -> None:
        """The secret was wrong: count the attempt on the rows that do not count it yet."""
        # Stamped now, not when ``hold`` began: the wait runs from the failure, however long the
        # attempt waited for the lock or the hasher (a burst must not outlast it unseen).
        now = clock.now()
        if self._imitation:
            _write([(_NO_ROW, 1, now), (_NO_ROW, 1, now)])
            return
        _write([(row.pk, row.current + 1, now) for row in self._rows if not row.counted])

    def succeeded(self) -> None:
        """The secret was right: forget this network's failures and those across networks, and
        remember the success on this network. One UPDATE, or none when no row counts a failure
        and the network's success is recent (``SUCCESS_REFRESH``)."""
        if not self._rows:
            return
        now = clock.now()
        if any(_needs_reset(row, now) for row in self._rows):
            _reset([row.pk for row in self._rows], now)

    def release(self) -> None:
        """The attempt was neither right nor wrong: take back the failure it was counted as."""
        _write([(row.pk, row.failures, row.last_failure_at) for row in self._rows if row.counted])

    def _count(self) -> Attempt:
        """``failed`` now, for ``reserve``: the attempt as one that every row counts."""
        self.failed()
        return replace(self, _rows=tuple(replace(row, counted=True) for row in self._rows))


def _needs_reset(row: _Held, now: datetime) -> bool:
    if row.counted or row.current:
        return True
    if row.everywhere:
        return False  # only a network's row remembers successes (``_known``)
    last = row.last_success_at
    return last is None or now >= last + SUCCESS_REFRESH


def hold(kind: Kind, subject: str, ip: str | None) -> Attempt:
    """Take the rows of an attempt at ``kind`` for ``subject`` from ``ip``, or refuse it.

    Call it inside a transaction (row locks), before comparing the secret; then report the
    outcome with ``failed``, ``succeeded`` or ``release``. A refusal holds and counts nothing.
    """
    if not subject:
        raise ValueError("an attempt needs a subject")
    policy = kind.policy
    network = network_of(ip)
    now = clock.now()
    # A subject without rows gets them in the same statement (PostgreSQL): nothing to refuse.
    found, created = _read(kind, subject, network, now)
    # Most refusals are decided here, without a lock: a flood of refused guesses does not queue
    # behind the locks of the attempts that are allowed.
    retry_after = _retry_after(policy, found.get(ALL_NETWORKS), found.get(network), now)
    if retry_after:
        return Attempt(retry_after)
    if len(found) < 2:
        missing = [key for key in (ALL_NETWORKS, network) if key not in found | created]
        if missing:
            created |= _create_counted(kind, subject, missing, now)
        if len(created) == 2:
            # Both rows are new, hold this attempt, and stay invisible to every other attempt
            # until the transaction ends (theirs wait on the unique key): nothing to lock.
            rows = tuple(
                _Held(created[key], key == ALL_NETWORKS, 0, 0, None, None, counted=True)
                for key in (ALL_NETWORKS, network)
            )
            return Attempt(0, rows)
    locked = _locked(kind, subject, network)
    everywhere, here = locked.get(ALL_NETWORKS), locked.get(network)
    if everywhere is None or here is None:
        _write([(pk, 0, None) for pk in created.values()])  # take this attempt back
        return Attempt(1)  # deleted by a clean-up since we read it: try again
    # A row this attempt created held nothing before it.
    before = {row.network: _Count() if row.network in created else row for row in locked.values()}
    retry_after = _retry_after(policy, before[ALL_NETWORKS], before[network], now)
    if retry_after:
        _write([(pk, 0, None) for pk in created.values()])
        return Attempt(retry_after)
    rows = tuple(
        _Held(
            row.pk,
            row.network == ALL_NETWORKS,
            before[row.network].failures,
            _current(policy, before[row.network], now),
            before[row.network].last_failure_at,
            row.last_success_at,
            counted=row.network in created,
        )
        for row in (everywhere, here)
    )
    return Attempt(0, rows)


def reserve(kind: Kind, subject: str, ip: str | None) -> Attempt:
    """``hold``, and count the attempt as a failure at once: the caller calls ``succeeded`` when
    the secret was right (or ``release``), nothing when it was wrong."""
    attempt = hold(kind, subject, ip)
    return attempt._count() if attempt.allowed else attempt


def hold_unknown(kind: Kind, identifier: str, ip: str | None) -> Attempt:
    """``hold`` for a login identifier that names no account: the same answers, kept in the
    cache (``RATE_LIMITER.CACHE``) instead of rows, so guessing at made-up identifiers fills no
    table and the answers do not tell which accounts exist. The same SQL statements run too, on
    rows that do not exist, so neither does their number (security-checks PC-08): the reads
    here, the write of ``failed`` (the only outcome). Only the first attempt from a network at
    an account differs: it inserts the rows it lacks, already counting the attempt (instead of
    locking them, and counting after the comparison).

    The cache has no row locks, so concurrent attempts may get a little more than the budget;
    when the cache fails the attempt is allowed (as rate limits are).
    """
    policy = kind.policy
    network = network_of(ip)
    now = clock.now()
    digest = hashlib.sha256(identifier.encode("utf-8", "surrogatepass")).hexdigest()
    keys = {k: f"{_CACHE_PREFIX}:{kind.name}:{digest}:{k}" for k in (ALL_NETWORKS, network)}
    retry_after = 0
    try:
        cache = caches[settings.RATE_LIMITER.CACHE]
        stored = cache.get_many(list(keys.values()))
        counts = {k: _Count(*stored.get(key, (0, None))) for k, key in keys.items()}
        retry_after = _retry_after(policy, counts[ALL_NETWORKS], counts[network], now)
        if not retry_after:
            updated = {key: (_current(policy, counts[k], now) + 1, now) for k, key in keys.items()}
            cache.set_many(updated, timeout=int(policy.cooldown.total_seconds()))
    except Exception:
        logger.warning("attempt cache unavailable; allowing %s attempt", kind.name, exc_info=True)
    # The statements ``hold`` runs, for a subject no row has ("" is refused there).
    _read(kind, "", network, now)
    if retry_after:
        return Attempt(retry_after)
    _locked(kind, "", network)
    return Attempt(0, (), _imitation=True)


def network_of(ip: str | None) -> str:
    """The network a client address belongs to: ``203.0.113.0/24``, ``2001:db8:1:2::/64``.

    An IPv4-mapped IPv6 address counts as its IPv4 address.
    """
    try:
        address = ipaddress.ip_address((ip or "").split("%", 1)[0])
    except ValueError:
        return UNKNOWN_NETWORK
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    prefix = IPV4_PREFIX if address.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network((address, prefix), strict=False))


# --- internals ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Count:
    """A count kept in the cache; has the fields of ``AttemptBudget`` that the rules read."""

    failures: int = 0
    last_failure_at: datetime | None = None
    last_success_at: datetime | None = None


@dataclass(frozen=True)
class _Row:
    """An ``AttemptBudget`` row as the rules read it."""

    pk: int
    network: str
    failures: int
    last_failure_at: datetime | None
    last_success_at: datetime | None


def _read(
    kind: Kind, subject: str, network: str, now: datetime
) -> tuple[dict[str, _Row], dict[str, int]]:
    """The subject's rows for all networks and for ``network``, by network, unlocked; and, when
    the subject has no row at all, the ids of the rows created for it, each already counting
    this attempt (as ``_create_counted``), by network.

    On PostgreSQL one statement reads and creates (a data-modifying WITH), so a first attempt
    costs one round trip instead of two. It creates nothing for the empty subject: the same text
    serves ``hold_unknown`` (PC-08). Elsewhere, or when reads go to another database, a plain
    read.
    """
    read_alias = router.db_for_read(AttemptBudget)
    connection = connections[router.db_for_write(AttemptBudget)]
    if connection.vendor != "postgresql" or connection.alias != read_alias:
        return _fetch(kind, subject, network, locked=False), {}
    sql, template = _read_or_create_query(connection.alias)
    at = _FAILED_AT.get_db_prep_value(now, connection)
    values = {_KIND: kind.name, _SUBJECT: subject, _NETWORK: network}
    select = [values.get(param, param) if isinstance(param, str) else param for param in template]
    insert = [kind.name, subject, at, ALL_NETWORKS, network, subject]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*select, *insert])
        fetched = cursor.fetchall()
    found: dict[str, _Row] = {}
    created: dict[str, int] = {}
    for pk, net, failures, failed_at, succeeded_at, new in fetched:
        if new:
            created[net] = pk
        else:
            found[net] = _Row(pk, net, failures, failed_at, succeeded_at)
    return found, created


@functools.lru_cache(maxsize=8)
def _read_or_create_query(alias: str) -> tuple[str, tuple[object, ...]]:
    """``_read``'s statement, and the parameters of its read part (as ``_fetch_query``)."""
    connection = connections[alias]
    read, template = _fetch_query(alias, False)
    quote = connection.ops.quote_name
    column = {name: quote(AttemptBudget._meta.get_field(name).column) for name in _ROW_COLUMNS}
    table = quote(AttemptBudget._meta.db_table)
    key = ", ".join(column[c] for c in ("kind", "subject", "network"))
    returned = ", ".join(column[c] for c in ("id", "network", *_COLUMNS[2:]))
    # Rows are inserted in VALUES order, the row across networks first, as ``_create_counted``:
    # two first attempts wait on the same key first instead of on each other's (deadlock).
    # Only quoted names of this model's table go into the text; every value is a parameter.
    sql = (
        f"WITH found AS ({read}), created AS ("  # noqa: S608
        f"INSERT INTO {table} ({key}, {column['failures']}, {column['last_failure_at']})"
        " SELECT %s, %s, v.network, 1, %s FROM (VALUES (%s), (%s)) AS v(network)"
        " WHERE %s <> '' AND NOT EXISTS (SELECT 1 FROM found)"
        f" ON CONFLICT ({key}) DO NOTHING RETURNING {returned})"
        f" SELECT {', '.join(quote(c) for c in _COLUMNS)}, false FROM found"
        f" UNION ALL SELECT {returned}, true FROM created"
    )
    return sql, template


def _locked(kind: Kind, subject: str, network: str) -> dict[str, _Row]:
    """The subject's rows for all networks and for ``network``, locked until the transaction
    ends, by network.

    One statement locks both, always the row across networks first: PostgreSQL locks rows in
    the order it returns them, so no two attempts wait for each other's second row (deadlock).
    """
    return _fetch(kind, subject, network, locked=True)


# Stand for the values while a query is compiled; never sent to the database.
_KIND, _SUBJECT, _NETWORK = "\x00kind\x00", "\x00subject\x00", "\x00network\x00"
_COLUMNS = ("pk", "network", "failures", "last_failure_at", "last_success_at")
_ROW_COLUMNS = ("id", "kind", "subject", "network", *_COLUMNS[2:])


def _fetch(kind: Kind, subject: str, network: str, *, locked: bool) -> dict[str, _Row]:
    """``_read`` or ``_locked``: the ORM compiles each query once per database (every attempt
    runs both, and compiling them cost more than running them), the values go in as parameters.
    """
    model = AttemptBudget
    alias = router.db_for_write(model) if locked else router.db_for_read(model)
    connection = connections[alias]
    sql, template = _fetch_query(alias, locked)
    values = {_KIND: kind.name, _SUBJECT: subject, _NETWORK: network}
    params = [values.get(param, param) if isinstance(param, str) else param for param in template]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    converters = _datetime_converters(connection)
    rows = {}
    for pk, net, failures, failed_at, succeeded_at in fetched:
        for convert, expression in converters:
            failed_at = convert(failed_at, expression, connection)
            succeeded_at = convert(succeeded_at, expression, connection)
        rows[net] = _Row(pk, net, failures, failed_at, succeeded_at)
    return rows


@functools.lru_cache(maxsize=8)
def _fetch_query(alias: str, locked: bool) -> tuple[str, tuple[object, ...]]:
    # Compiled inside the caller's transaction (a locking query refuses to compile outside one).
    rows = AttemptBudget.objects.using(alias).filter(
        kind=_KIND, subject=_SUBJECT, network__in=(ALL_NETWORKS, _NETWORK)
    )
    if locked:
        first = Case(When(network=ALL_NETWORKS, then=Value(0)), default=Value(1))
        rows = rows.select_for_update().order_by(first)
    sql, params = rows.values_list(*_COLUMNS).query.get_compiler(alias).as_sql()
    if any(params.count(value) != 1 for value in (_KIND, _SUBJECT, _NETWORK)):
        raise RuntimeError("the attempt budget query must take each value exactly once")
    return sql, tuple(params)


def _datetime_converters(connection) -> list[tuple[Any, Any]]:
    """What the backend does to a ``DateTimeField`` value read from it (SQLite: parse the text
    and make it aware), as the ORM would."""
    field = AttemptBudget._meta.get_field("last_failure_at")
    expression = field.get_col(AttemptBudget._meta.db_table)
    found = connection.ops.get_db_converters(expression) + field.get_db_converters(connection)
    return [(convert, expression) for convert in found]


_FAILURES = AttemptBudget._meta.get_field("failures")
_FAILED_AT = AttemptBudget._meta.get_field("last_failure_at")


def _create_counted(kind: Kind, subject: str, networks: list[str], now: datetime) -> dict[str, int]:
    """Create the subject's missing rows for ``networks``, each already counting one failure
    (this attempt); the ids of the rows this attempt created, by network. A row a concurrent
    attempt created first is left as it is (and waited for until that attempt commits).

    Raw SQL: the ORM's ``bulk_create(ignore_conflicts=True)`` cannot tell which rows it created.
    """
    connection = connections[router.db_for_write(AttemptBudget)]
    if not connection.features.can_return_columns_from_insert:
        AttemptBudget.objects.bulk_create(
            [AttemptBudget(kind=kind.name, subject=subject, network=key) for key in networks],
            ignore_conflicts=True,
        )
        return {}
    at = _FAILED_AT.get_db_prep_value(now, connection)
    quote = connection.ops.quote_name
    columns = ", ".join(
        quote(c) for c in ("kind", "subject", "network", "failures", "last_failure_at")
    )
    values = ", ".join(["(%s, %s, %s, 1, %s)"] * len(networks))
    key = ", ".join(quote(c) for c in ("kind", "subject", "network"))
    # Only quoted names of this model's table go into the text; every value is a parameter.
    table = quote(AttemptBudget._meta.db_table)
    insert = f"INSERT INTO {table} ({columns}) VALUES {values}"  # noqa: S608
    sql = f"{insert} ON CONFLICT ({key}) DO NOTHING RETURNING {quote('id')}, {quote('network')}"
    params = [value for network in networks for value in (kind.name, subject, network, at)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {network: pk for pk, network in cursor.fetchall()}


def _reset(pks: list[int], now: datetime) -> None:
    """``failures`` 0 and ``last_success_at`` now on rows by id, in one UPDATE written once per
    database and number of rows (the ORM compiled it on every first or cleaning success)."""
    connection = connections[router.db_for_write(AttemptBudget)]
    sql = _reset_query(connection.alias, len(pks))
    with connection.cursor() as cursor:
        cursor.execute(sql, [_SUCCEEDED_AT.get_db_prep_value(now, connection), *pks])


_SUCCEEDED_AT = AttemptBudget._meta.get_field("last_success_at")


@functools.lru_cache(maxsize=8)
def _reset_query(alias: str, count: int) -> str:
    quote = connections[alias].ops.quote_name
    column = {name: quote(AttemptBudget._meta.get_field(name).column) for name in _RESET_COLUMNS}
    ids = ", ".join(["%s"] * count)
    # Only quoted names of this model's table go into the text; every value is a parameter.
    return (
        f"UPDATE {quote(AttemptBudget._meta.db_table)} SET {column['failures']} = 0,"  # noqa: S608
        f" {column['last_success_at']} = %s WHERE {column['id']} IN ({ids})"
    )


_RESET_COLUMNS = ("id", "failures", "last_success_at")


def _write(counts: list[tuple[int, int, datetime | None]]) -> None:
    """Set ``failures`` and ``last_failure_at`` of rows by id, all in one UPDATE."""
    if not counts:
        return
    failures = [When(pk=pk, then=Value(n)) for pk, n, _ in counts]
    failed_at = [When(pk=pk, then=Value(at)) for pk, _, at in counts]
    # The ELSE branches (never taken) give each CASE its column's type: PostgreSQL cannot type
    # one whose every branch is NULL.
    AttemptBudget.objects.filter(pk__in=[pk for pk, _, _ in counts]).update(
        failures=Case(*failures, default=F("failures"), output_field=_FAILURES),
        last_failure_at=Case(*failed_at, default=F("last_failure_at"), output_field=_FAILED_AT),
    )


def _current(policy: Policy, count: _Row | _Count | None, now: datetime) -> int:
    """The failures that still count: none once a day has passed without one."""
    if count is None or count.last_failure_at is None:
        return 0
    if now >= count.last_failure_at + policy.cooldown:
        return 0
    return count.failures


def _wait(policy: Policy, count: _Row | _Count | None, free: int, now: datetime) -> timedelta:
    """How long after ``now`` the next attempt must wait under this count."""
    failures = _current(policy, count, now)
    if failures < free:
        return _ZERO
    if failures >= policy.ceiling:
        return count.last_failure_at + policy.cooldown - now
    doublings = min(failures - free, 32)  # 2**32 s is far past any MAX_DELAY
    delay = min(policy.first_delay * 2**doublings, policy.max_delay)
    return max(count.last_failure_at + delay - now, _ZERO)


def _known(policy: Policy, count: _Row | _Count | None, now: datetime) -> bool:
    """The subject succeeded from this network recently."""
    last = count.last_success_at if count is not None else None
    return last is not None and now < last + policy.known_network_for


def _retry_after(
    policy: Policy,
    everywhere: _Row | _Count | None,
    here: _Row | _Count | None,
    now: datetime,
) -> int:
    """Whole seconds this network must wait before its next attempt; 0 when it may try now."""
    wait = _wait(policy, here, policy.network_free, now)
    if not _known(policy, here, now):
        wait = max(wait, _wait(policy, everywhere, policy.subject_free, now))
    return math.ceil(wait.total_seconds()) if wait > _ZERO else 0
