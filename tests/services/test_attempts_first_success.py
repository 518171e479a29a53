"""A subject's first attempt on PostgreSQL reads its rows and creates them in one statement
(hankoflow/services/attempts.py ``_read``): a clean first success costs that statement and the
reset, and a refused or unknown attempt still creates nothing."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from hankoflow.models import AttemptBudget
from hankoflow.services import attempts

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]


def test_a_first_success_is_two_statements(clock):
    clock.stop()
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        attempt = attempts.hold(attempts.PASSWORD, "first-1", "198.51.100.7")
        assert attempt.allowed
        attempt.succeeded()
    statements = [q["sql"] for q in captured.captured_queries]
    statements = [s for s in statements if s.split()[0] not in ("SAVEPOINT", "RELEASE")]
    assert len(statements) == 2, statements
    rows = {row.network: row for row in AttemptBudget.objects.filter(subject="first-1")}
    assert set(rows) == {"*", "198.51.100.0/24"}
    assert all(r.failures == 0 and r.last_success_at == clock.now() for r in rows.values())


def test_a_first_failure_counts_on_both_new_rows(clock):
    clock.stop()
    with transaction.atomic():
        attempts.hold(attempts.PASSWORD, "first-2", "198.51.100.7").failed()
    failures = dict(
        AttemptBudget.objects.filter(subject="first-2").values_list("network", "failures")
    )
    assert failures == {"*": 1, "198.51.100.0/24": 1}


def test_a_second_network_creates_only_its_row_and_locks_the_other(clock):
    clock.stop()
    with transaction.atomic():
        attempts.hold(attempts.PASSWORD, "first-3", "198.51.100.7").failed()
    with transaction.atomic():
        attempts.hold(attempts.PASSWORD, "first-3", "203.0.113.9").failed()
    failures = dict(
        AttemptBudget.objects.filter(subject="first-3").values_list("network", "failures")
    )
    assert failures == {"*": 2, "198.51.100.0/24": 1, "203.0.113.0/24": 1}


def test_an_unknown_identifier_creates_no_row(clock):
    with transaction.atomic():
        attempts.hold_unknown(attempts.PASSWORD, "nobody@example.com", "198.51.100.7").failed()
    assert not AttemptBudget.objects.filter(subject="").exists()
    assert not AttemptBudget.objects.exists()
