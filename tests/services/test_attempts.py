"""The attempt budget shared by passwords, passcodes and TOTP (hankoflow/services/attempts.py;
security-checks PW-06, PC-05, TO-05).

Time stands still (``clock.stop()``) and moves only by ``clock.advance``, so every wait is exact.
"""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from hankoflow.conf import settings
from hankoflow.models import AttemptBudget
from hankoflow.services import attempts
from hankoflow.services.attempts import CEILING, NETWORK_FREE, SUBJECT_FREE

pytestmark = pytest.mark.django_db

KIND = attempts.PASSWORD
SUBJECT = "0b9c0f3e-0000-4000-8000-000000000001"
HOME = "198.51.100.20"


@pytest.fixture(autouse=True)
def _still(clock):
    clock.stop()
    return clock


def ip(n: int) -> str:
    """An address in the n-th of many /24 networks."""
    return f"10.{n // 256}.{n % 256}.9"


def reserve(address: str, subject: str = SUBJECT, kind: attempts.Kind = KIND) -> attempts.Attempt:
    with transaction.atomic():
        return attempts.reserve(kind, subject, address)


def fail(clock, address: str, times: int = 1, subject: str = SUBJECT) -> None:
    """``times`` wrong guesses from ``address``, each as soon as the budget allows."""
    for _ in range(times):
        attempt = reserve(address, subject)
        if not attempt.allowed:
            clock.advance(seconds=attempt.retry_after)
            assert reserve(address, subject).allowed


def succeed(clock, address: str, subject: str = SUBJECT) -> None:
    attempt = reserve(address, subject)
    if not attempt.allowed:
        clock.advance(seconds=attempt.retry_after)
        attempt = reserve(address, subject)
    attempt.succeeded()


def row(network: str, subject: str = SUBJECT) -> AttemptBudget:
    return AttemptBudget.objects.get(kind=KIND.name, subject=subject, network=network)


# --- networks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("203.0.113.1", "203.0.113.0/24"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::ffff", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.0/24"),
        ("fe80::1%eth0", "fe80::/64"),
        ("", "unknown"),
        (None, "unknown"),
        ("not an address", "unknown"),
        ("\x00", "unknown"),
    ],
)
def test_network_of(address, network):
    assert attempts.network_of(address) == network


# --- one network --------------------------------------------------------------------------------


def test_first_failures_are_free_then_each_wait_doubles_up_to_the_maximum(clock):
    for _ in range(NETWORK_FREE):
        assert reserve(HOME).allowed
    waits = []
    while len(waits) < 14:
        refused = reserve(HOME)
        assert not refused.allowed
        waits.append(refused.retry_after)
        clock.advance(seconds=refused.retry_after - 1)
        assert not reserve(HOME).allowed  # a second early is still too early
        clock.advance(seconds=1)
        assert reserve(HOME).allowed
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900]


def test_a_refusal_counts_nothing(clock):
    fail(clock, HOME, NETWORK_FREE)
    before = list(AttemptBudget.objects.values_list("network", "failures", "last_failure_at"))
    for _ in range(20):
        assert reserve(HOME).retry_after == 1
    after = list(AttemptBudget.objects.values_list("network", "failures", "last_failure_at"))
    assert after == before


def test_addresses_of_one_network_share_its_count(clock):
    for n in range(NETWORK_FREE):
        assert reserve(f"203.0.113.{n + 1}").allowed
    assert reserve("203.0.113.200").retry_after == 1
    assert reserve("203.0.114.200").allowed  # the next /24


def test_a_network_is_refused_for_a_day_after_the_ceiling(clock):
    succeed(clock, HOME)  # even a known network has its own ceiling
    fail(clock, HOME, CEILING)
    assert row(attempts.network_of(HOME)).failures == CEILING
    refused = reserve(HOME)
    assert refused.retry_after == 24 * 3600
    clock.advance(hours=23, minutes=59, seconds=59)
    assert not reserve(HOME).allowed
    clock.advance(seconds=1)
    assert reserve(HOME).allowed  # forgotten: it counts from one again
    assert row(attempts.network_of(HOME)).failures == 1


def test_a_quiet_day_forgets_the_count(clock):
    fail(clock, HOME, NETWORK_FREE + 3)
    clock.advance(hours=24)
    for _ in range(NETWORK_FREE):
        assert reserve(HOME).allowed


# --- successes ----------------------------------------------------------------------------------


def test_success_resets_its_network_and_the_subject_count_but_not_other_networks(clock):
    succeed(clock, HOME)
    other = "192.0.2.30"
    fail(clock, other, NETWORK_FREE + 4)  # waits 16 s before its next attempt
    fail(clock, HOME, NETWORK_FREE)
    succeed(clock, HOME)  # after a 1 s wait
    assert row(attempts.ALL_NETWORKS).failures == 0
    assert row(attempts.network_of(HOME)).failures == 0
    assert row(attempts.network_of(other)).failures == NETWORK_FREE + 4
    assert reserve(other).retry_after == 15
    for _ in range(NETWORK_FREE):
        assert reserve(HOME).allowed


def test_release_takes_the_attempt_back(clock):
    fail(clock, HOME, 2)
    with transaction.atomic():
        attempt = attempts.reserve(KIND, SUBJECT, HOME)
        assert row(attempts.network_of(HOME)).failures == 3
        attempt.release()
    assert row(attempts.network_of(HOME)).failures == 2
    assert row(attempts.ALL_NETWORKS).failures == 2


def test_kinds_and_subjects_have_their_own_counts(clock):
    fail(clock, HOME, NETWORK_FREE)
    assert not reserve(HOME).allowed
    assert reserve(HOME, subject="someone else").allowed
    assert reserve(HOME, kind=attempts.TOTP).allowed
    assert reserve(HOME, kind=attempts.PASSCODE).allowed


def test_a_subject_is_required():
    with pytest.raises(ValueError), transaction.atomic():
        attempts.reserve(KIND, "", HOME)


# --- across networks ----------------------------------------------------------------------------


def test_failures_across_networks_make_new_networks_wait(clock):
    for n in range(SUBJECT_FREE):
        assert reserve(ip(n)).allowed  # one guess from each of many networks
    refused = reserve(ip(SUBJECT_FREE))
    assert refused.retry_after == 1
    clock.advance(seconds=1)
    assert reserve(ip(SUBJECT_FREE)).allowed
    assert reserve(ip(SUBJECT_FREE + 1)).retry_after == 2


def test_the_ceiling_across_networks_holds_new_networks_for_a_day(clock):
    for n in range(CEILING):
        fail(clock, ip(n))
    assert row(attempts.ALL_NETWORKS).failures == CEILING
    assert reserve(ip(CEILING)).retry_after == 24 * 3600
    clock.advance(hours=24)
    assert reserve(ip(CEILING)).allowed
    assert row(attempts.ALL_NETWORKS).failures == 1


def test_attackers_cannot_lock_out_a_network_the_person_signed_in_from(clock):
    succeed(clock, HOME)
    for n in range(CEILING):
        fail(clock, ip(n))
    assert not reserve(ip(CEILING)).allowed  # a new network waits a day
    for _ in range(NETWORK_FREE):  # home answers only to its own count
        assert reserve(HOME).allowed
    clock.advance(seconds=1)
    succeed(clock, HOME)
    assert reserve(ip(CEILING)).allowed  # the success reset the count across networks


def test_a_network_stays_known_for_90_days(clock):
    succeed(clock, HOME)
    clock.advance(days=90, seconds=-1)
    for n in range(SUBJECT_FREE):
        fail(clock, ip(n))
    assert not reserve(ip(SUBJECT_FREE)).allowed
    assert reserve(HOME).allowed
    clock.advance(seconds=1)  # 90 days since the success: no longer known
    assert reserve(HOME).retry_after == 1  # held by the count across networks (11 failures)


# --- identifiers without an account -------------------------------------------------------------


def unknown(address: str, identifier: str = "nobody@example.com") -> attempts.Attempt:
    attempt = attempts.hold_unknown(KIND, identifier, address)
    if attempt.allowed:
        attempt.failed()
    return attempt


def test_an_unknown_identifier_gets_the_same_answers_and_no_rows(clock):
    script = [ip(n % 4) for n in range(40)]  # four networks taking turns
    known, made_up = [], []
    for address in script:
        known.append(reserve(address).retry_after)
        made_up.append(unknown(address).retry_after)
        clock.advance(seconds=3)
    assert made_up == known
    assert 0 < known.count(0) < len(script)
    assert not AttemptBudget.objects.exclude(subject=SUBJECT).exists()


def test_unknown_identifiers_are_counted_apart(clock):
    for n in range(SUBJECT_FREE):
        unknown(ip(n))
    assert unknown(ip(SUBJECT_FREE)).retry_after == 1
    assert unknown(ip(SUBJECT_FREE), "other@example.com").allowed


def test_unknown_identifiers_are_allowed_when_the_cache_fails(clock, monkeypatch):
    for n in range(SUBJECT_FREE):
        unknown(ip(n))
    cache = caches[settings.RATE_LIMITER.CACHE]

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get_many", broken)
    assert unknown(ip(SUBJECT_FREE)).allowed


def test_no_wait_is_longer_than_the_maximum_delay_before_the_ceiling(clock):
    fail(clock, HOME, CEILING - 1)
    assert reserve(HOME).retry_after == int(attempts.MAX_DELAY.total_seconds())


# --- what an attempt costs in SQL ---------------------------------------------------------------


def statements(run) -> list[str]:
    """The SQL ``run()`` sends, transaction control left out (as the bench counts)."""
    with CaptureQueriesContext(connection) as captured:
        run()
    control = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")
    sql = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(control)]
    # PostgreSQL reads the budget with a WITH that creates rows only when the subject has none:
    # labelled as the read it is (the tests compare first words).
    return [f"SELECT {s}" if s.startswith("WITH found AS (SELECT") else s for s in sql]


# PostgreSQL creates a new subject's rows in the read's statement (``attempts._read``).
FIRST_EVER = ["SELECT", "UPDATE"] if connection.vendor == "postgresql" else None


def test_a_first_ever_success_reads_creates_counted_rows_and_resets_them(clock):
    sql = statements(lambda: succeed(clock, HOME))
    kinds = [s.split(None, 1)[0] for s in sql]
    # read (unlocked), INSERT both rows already counting the attempt, reset both: the new rows
    # are this transaction's alone until it ends, so there is nothing to lock.
    assert kinds == (FIRST_EVER or ["SELECT", "INSERT", "UPDATE"]), "\n".join(sql)
    assert row(attempts.ALL_NETWORKS).failures == row(attempts.network_of(HOME)).failures == 0


def test_a_first_attempt_creates_both_rows_counting_it(clock):
    reserve(HOME)
    for network in (attempts.ALL_NETWORKS, attempts.network_of(HOME)):
        assert (row(network).failures, row(network).last_failure_at) == (1, clock())


def test_a_first_attempt_from_a_new_network_counts_the_existing_row_too(clock):
    fail(clock, "192.0.2.30", 3)
    sql = statements(lambda: reserve(HOME))
    assert [s.split(None, 1)[0] for s in sql] == ["SELECT", "INSERT", "SELECT", "UPDATE"]
    assert row(attempts.ALL_NETWORKS).failures == 4
    assert row(attempts.network_of(HOME)).failures == 1


def test_a_refusal_after_a_stale_read_takes_back_the_row_it_created(clock, monkeypatch):
    fail(clock, ip(0), NETWORK_FREE)
    for n in range(1, SUBJECT_FREE - NETWORK_FREE + 1):
        fail(clock, ip(n))
    # A concurrent attempt counted between this one's read and its lock: the read saw nothing.
    monkeypatch.setattr(attempts, "_read", lambda *args, **kwargs: ({}, {}))
    refused = reserve(HOME)
    assert refused.retry_after == 1
    assert (
        row(attempts.network_of(HOME)).failures,
        row(attempts.network_of(HOME)).last_failure_at,
    ) == (0, None)
    assert row(attempts.ALL_NETWORKS).failures == SUBJECT_FREE


def test_release_of_a_first_attempt_leaves_empty_rows(clock):
    with transaction.atomic():
        attempts.reserve(KIND, SUBJECT, HOME).release()
    for network in (attempts.ALL_NETWORKS, attempts.network_of(HOME)):
        assert (row(network).failures, row(network).last_failure_at) == (0, None)


def test_a_success_with_rows_reads_locks_counts_and_resets(clock):
    fail(clock, HOME)
    sql = statements(lambda: succeed(clock, HOME))
    assert [s.split(None, 1)[0] for s in sql] == ["SELECT", "SELECT", "UPDATE", "UPDATE"]


def test_a_refusal_is_one_unlocked_read(clock):
    fail(clock, HOME, NETWORK_FREE)
    sql = statements(lambda: reserve(HOME))
    assert len(sql) == 1 and "FOR UPDATE" not in sql[0]


def test_release_is_one_statement(clock):
    fail(clock, HOME)
    with transaction.atomic():
        attempt = attempts.reserve(KIND, SUBJECT, HOME)
        assert len(statements(attempt.release)) == 1


def test_both_rows_are_locked_by_one_statement_the_row_across_networks_first(clock):
    fail(clock, HOME)
    locking = [s for s in statements(lambda: reserve(HOME)) if "FOR UPDATE" in s]
    if connection.features.has_select_for_update:
        assert len(locking) == 1
        # PostgreSQL locks the rows in the order it returns them: "*" sorts first.
        order_by = locking[0].split("ORDER BY", 1)[1]
        assert order_by.lstrip().startswith("CASE WHEN") and "'*'" in order_by


def test_an_unknown_identifier_runs_the_statements_of_a_known_one(clock):
    fail(clock, HOME)
    unknown(HOME)  # its first attempt from a network is no different from a known one's

    def known() -> None:
        with transaction.atomic():
            attempts.hold(KIND, SUBJECT, HOME).failed()

    made_up = statements(lambda: unknown(HOME))
    assert [s.split(None, 1)[0] for s in made_up] == [
        s.split(None, 1)[0] for s in statements(known)
    ]
    assert [s.split(None, 1)[0] for s in made_up] == ["SELECT", "SELECT", "UPDATE"]


# --- hold: the outcome written after the comparison ---------------------------------------------


def held(address: str = HOME) -> attempts.Attempt:
    return attempts.hold(KIND, SUBJECT, address)


def test_a_held_attempt_counts_nothing_until_it_fails(clock):
    fail(clock, HOME, 2)
    with transaction.atomic():
        attempt = held()
        assert row(attempts.network_of(HOME)).failures == 2
        attempt.failed()
        assert row(attempts.network_of(HOME)).failures == 3
    assert row(attempts.ALL_NETWORKS).failures == 3


def test_a_held_first_attempt_counts_from_its_insert(clock):
    with transaction.atomic():
        held().failed()
    for network in (attempts.ALL_NETWORKS, attempts.network_of(HOME)):
        assert (row(network).failures, row(network).last_failure_at) == (1, clock())


def test_a_held_failure_from_a_new_network_counts_both_rows(clock):
    fail(clock, "192.0.2.30", 3)
    with transaction.atomic():
        sql = statements(lambda: held().failed())
    assert [s.split(None, 1)[0] for s in sql] == ["SELECT", "INSERT", "SELECT", "UPDATE"]
    assert row(attempts.ALL_NETWORKS).failures == 4
    assert row(attempts.network_of(HOME)).failures == 1


def test_a_held_failure_is_a_read_a_lock_and_one_update(clock):
    fail(clock, HOME)
    with transaction.atomic():
        sql = statements(lambda: held().failed())
    assert [s.split(None, 1)[0] for s in sql] == ["SELECT", "SELECT", "UPDATE"]
    assert row(attempts.network_of(HOME)).failures == row(attempts.ALL_NETWORKS).failures == 2


def test_a_held_success_after_failures_resets_both_rows_in_one_update(clock):
    fail(clock, HOME, 3)
    with transaction.atomic():
        sql = statements(lambda: held().succeeded())
    assert [s.split(None, 1)[0] for s in sql] == ["SELECT", "SELECT", "UPDATE"]
    assert row(attempts.network_of(HOME)).failures == row(attempts.ALL_NETWORKS).failures == 0
    assert row(attempts.network_of(HOME)).last_success_at == clock()


def test_a_held_success_on_a_clean_budget_writes_nothing(clock):
    succeed(clock, HOME)
    clock.advance(minutes=5)
    with transaction.atomic():
        sql = statements(lambda: held().succeeded())
    assert [s.split(None, 1)[0] for s in sql] == ["SELECT", "SELECT"]  # read, lock


def test_a_networks_success_is_recorded_again_after_the_refresh(clock):
    succeed(clock, HOME)
    clock.advance(seconds=attempts.SUCCESS_REFRESH.total_seconds())
    with transaction.atomic():
        held().succeeded()
    assert row(attempts.network_of(HOME)).last_success_at == clock()


def test_a_first_held_success_resets_the_rows_it_created(clock):
    with transaction.atomic():
        sql = statements(lambda: held().succeeded())
    assert [s.split(None, 1)[0] for s in sql] == (FIRST_EVER or ["SELECT", "INSERT", "UPDATE"])
    assert row(attempts.ALL_NETWORKS).failures == row(attempts.network_of(HOME)).failures == 0
    assert row(attempts.network_of(HOME)).last_success_at == clock()


def test_releasing_a_held_attempt_writes_nothing_and_counts_nothing(clock):
    fail(clock, HOME, 2)
    with transaction.atomic():
        attempt = held()
        assert statements(attempt.release) == []
    assert row(attempts.network_of(HOME)).failures == 2


def test_a_held_attempt_waits_for_the_budget_like_a_reserved_one(clock):
    fail(clock, HOME, NETWORK_FREE)
    with transaction.atomic():
        assert held().retry_after == 1
