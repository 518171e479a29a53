"""Password guesses at one account under concurrency on PostgreSQL (security-checks PW-06).

Threads, each with its own database connection and transaction (as concurrent flow steps have),
guess at the same instant behind a barrier. SQLite serialises writers and would hide the race, so
these run on PostgreSQL only (``bin/test``, or ``bin/services start`` + env).
"""

from __future__ import annotations

import threading

import pytest

from hankoflow.services import accounts, attempts, passwords
from tests.concurrency import run_concurrently

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]


@pytest.fixture(autouse=True)
def _still(clock):
    """Time stands still: a slow run cannot outlast the budget's one-second wait."""
    clock.stop()


@pytest.fixture
def real_checks(monkeypatch) -> list[int]:
    """Counts password comparisons (the budget's refusals only run the hasher on nothing)."""
    seen: list[int] = []
    real = passwords.check_login
    lock = threading.Lock()

    def counting(account, raw):
        with lock:
            seen.append(1)
        return real(account, raw)

    monkeypatch.setattr(passwords, "check_login", counting)
    return seen


def test_thirty_guesses_at_once_from_three_networks_get_only_the_free_checks(
    real_checks, account_factory
):
    account = account_factory("jane@example.com", password="the right password")
    account = accounts.get(account.id)

    def guess(n: int):
        return lambda: passwords.verify_login(
            account, f"guess {n}", identifier="jane@example.com", ip=f"10.0.{n % 3}.1"
        )

    results = run_concurrently([guess(n) for n in range(30)])
    assert not any(result.ok for result in results)
    assert len(real_checks) == attempts.SUBJECT_FREE
    assert sum(result.retry_after > 0 for result in results) == 30 - attempts.SUBJECT_FREE
