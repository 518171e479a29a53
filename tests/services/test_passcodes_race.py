"""Passcode races on PostgreSQL (security-checks PC-03, PC-04, PC-05; RE-07).

Many threads, each with its own database connection and transaction (as concurrent flow steps
have), verify at the same instant behind a barrier. SQLite serialises writers and would hide
the races, so these run on PostgreSQL only (``bin/test``, or ``bin/services start`` + env).
"""

from __future__ import annotations

import hmac
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from hankoflow.models import Passcode, PasscodeFailures
from hankoflow.services import passcodes

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("races need PostgreSQL (bin/test starts it)")


@pytest.fixture
def real_comparisons(monkeypatch) -> list[int]:
    """Counts comparisons against a stored hash (not the dummy every refusal compares with)."""
    seen: list[int] = []
    real = hmac.compare_digest
    lock = threading.Lock()

    def counting(a, b):
        if b != passcodes._DUMMY_DIGEST:
            with lock:
                seen.append(1)
        return real(a, b)

    monkeypatch.setattr(passcodes.hmac, "compare_digest", counting)
    return seen


def run_concurrently(calls: list[Callable[[], passcodes.VerifyResult]]):
    barrier = threading.Barrier(len(calls))

    def run(call):
        try:
            barrier.wait()
            with transaction.atomic():  # one flow step
                return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_right_code_submitted_16_times_at_once_succeeds_exactly_once(real_comparisons):
    issued = passcodes.issue(email="jane@example.com", account=None, flow_id=str(uuid.uuid4()))
    results = run_concurrently([lambda: passcodes.verify(issued.id, issued.code)] * 16)
    assert sum(result.ok for result in results) == 1, results
    assert Passcode.objects.get(pk=issued.id).used_at is not None
    assert len(real_comparisons) <= passcodes.MAX_TRIES
    # The winner reset the address's budget; losers never count as wrong codes.
    assert passcodes.verify(issued.id, issued.code) == passcodes.VerifyResult(ok=False)


def test_parallel_wrong_codes_reach_the_comparison_at_most_max_tries_times(real_comparisons):
    issued = passcodes.issue(email="jane@example.com", account=None, flow_id=str(uuid.uuid4()))
    wrong = "999999" if issued.code != "999999" else "000000"
    results = run_concurrently([lambda: passcodes.verify(issued.id, wrong)] * 30)
    assert not any(result.ok for result in results)
    assert len(real_comparisons) == passcodes.MAX_TRIES
    assert Passcode.objects.get(pk=issued.id).tries == passcodes.MAX_TRIES
    assert sum(result.max_attempts_reached for result in results) == 30 - 2
    failures = PasscodeFailures.objects.get(email="jane@example.com")
    assert failures.window_failures == failures.consecutive == passcodes.MAX_TRIES


def test_parallel_guesses_across_passcodes_stay_within_the_address_budget(real_comparisons):
    issued = [
        passcodes.issue(email="jane@example.com", account=None, flow_id=str(uuid.uuid4()))
        for _ in range(passcodes.ACCOUNT_BUDGET + 6)
    ]

    def guess(item):
        return lambda: passcodes.verify(item.id, "999999" if item.code != "999999" else "000000")

    results = run_concurrently([guess(item) for item in issued])
    assert not any(result.ok for result in results)
    assert len(real_comparisons) == passcodes.ACCOUNT_BUDGET
    assert PasscodeFailures.objects.get(email="jane@example.com").window_failures == (
        passcodes.ACCOUNT_BUDGET
    )
