"""A success's reset of the attempt budget (hankoflow/services/attempts.py ``Attempt.succeeded``):
one UPDATE written once per database and number of rows, the same rows and values as before."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from hankoflow.models import AttemptBudget
from hankoflow.services import attempts

pytestmark = pytest.mark.django_db


def test_a_first_success_resets_both_new_rows_in_one_update(clock):
    clock.stop()
    with transaction.atomic():
        attempt = attempts.hold(attempts.PASSWORD, "subject-1", "198.51.100.7")
        with CaptureQueriesContext(connection) as captured:
            attempt.succeeded()
    assert [q["sql"].split()[0] for q in captured.captured_queries] == ["UPDATE"]
    rows = {row.network: row for row in AttemptBudget.objects.filter(subject="subject-1")}
    assert set(rows) == {"*", "198.51.100.0/24"}
    assert all(row.failures == 0 and row.last_success_at == clock.now() for row in rows.values())


def test_a_success_after_failures_resets_only_its_rows(clock):
    for ip in ("198.51.100.7", "203.0.113.9"):
        with transaction.atomic():
            attempts.hold(attempts.PASSWORD, "subject-2", ip).failed()
    with transaction.atomic():
        attempts.hold(attempts.PASSWORD, "subject-2", "198.51.100.7").succeeded()
    failures = dict(
        AttemptBudget.objects.filter(subject="subject-2").values_list("network", "failures")
    )
    assert failures == {"*": 0, "198.51.100.0/24": 0, "203.0.113.0/24": 1}
