"""Passcode races on PostgreSQL (security-checks PC-03, PC-04, PC-05; RE-07).

Many threads, each with its own database connection and transaction (as concurrent flow steps
have), verify at the same instant behind a barrier. SQLite serialises writers and would hide
the races, so these run on PostgreSQL only (``bin/test``, or ``bin/services start`` + env).
"""

from __future__ import annotations

import hmac
import threading
import uuid

import pytest

from hankoflow.models import AttemptBudget, Passcode
from hankoflow.services import attempts, passcodes
from tests.concurrency import run_concurrently

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]

IP = "203.0.113.7"


@pytest.fixture(autouse=True)
def _still(clock):
    """Time stands still: a slow run cannot outlast the budget's one-second wait."""
    clock.stop()


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


def test_right_code_submitted_16_times_at_once_succeeds_exactly_once(real_comparisons):
    issued = passcodes.issue(email="jane@example.com", account=None, flow_id=str(uuid.uuid4()))
    results = run_concurrently([lambda: passcodes.verify(issued.id, issued.code, ip=IP)] * 16)
    assert sum(result.ok for result in results) == 1, results
    assert Passcode.objects.get(pk=issued.id).used_at is not None
    assert len(real_comparisons) <= passcodes.MAX_TRIES
    # The winner reset the address's budget; losers never count as wrong codes.
    assert passcodes.verify(issued.id, issued.code, ip=IP) == passcodes.VerifyResult(ok=False)


def test_parallel_wrong_codes_reach_the_comparison_at_most_max_tries_times(real_comparisons):
    issued = passcodes.issue(email="jane@example.com", account=None, flow_id=str(uuid.uuid4()))
    wrong = "999999" if issued.code != "999999" else "000000"
    results = run_concurrently([lambda: passcodes.verify(issued.id, wrong, ip=IP)] * 30)
    assert not any(result.ok for result in results)
    assert len(real_comparisons) == passcodes.MAX_TRIES
    assert Passcode.objects.get(pk=issued.id).tries == passcodes.MAX_TRIES
    assert sum(result.max_attempts_reached for result in results) == 30 - 2
    # Only the attempts that reached the passcode count; the others were taken back.
    counts = AttemptBudget.objects.filter(kind="passcode", subject="jane@example.com")
    assert set(counts.values_list("failures", flat=True)) == {passcodes.MAX_TRIES}


def test_parallel_guesses_from_one_network_stay_within_its_free_attempts(real_comparisons):
    issued = [
        passcodes.issue(email="jane@example.com", account=None, flow_id=str(uuid.uuid4()))
        for _ in range(attempts.NETWORK_FREE + 10)
    ]

    def guess(item):
        wrong = "999999" if item.code != "999999" else "000000"
        return lambda: passcodes.verify(item.id, wrong, ip=IP)

    results = run_concurrently([guess(item) for item in issued])
    assert not any(result.ok for result in results)
    assert len(real_comparisons) == attempts.NETWORK_FREE
    everywhere = AttemptBudget.objects.get(
        kind="passcode", subject="jane@example.com", network=attempts.ALL_NETWORKS
    )
    assert everywhere.failures == attempts.NETWORK_FREE


def test_parallel_guesses_from_many_networks_stay_within_the_free_failures(real_comparisons):
    """30 guesses from 30 networks at once: only the address's free failures are compared."""
    issued = [
        passcodes.issue(email="jane@example.com", account=None, flow_id=str(uuid.uuid4()))
        for _ in range(30)
    ]

    def guess(n, item):
        wrong = "999999" if item.code != "999999" else "000000"
        return lambda: passcodes.verify(item.id, wrong, ip=f"10.0.{n}.1")

    results = run_concurrently([guess(n, item) for n, item in enumerate(issued)])
    assert sum(result.max_attempts_reached for result in results) == 30 - attempts.SUBJECT_FREE
    assert len(real_comparisons) == attempts.SUBJECT_FREE
