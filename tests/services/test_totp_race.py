"""TOTP replay under concurrency on PostgreSQL (security-checks TO-04, TO-05).

Eight threads, each with its own connection and transaction (as concurrent flow steps have),
submit one valid code at the same instant behind a barrier: exactly one is accepted. SQLite
serialises writers and would hide the race, so these run on PostgreSQL only (``bin/test``, or
``bin/services start`` + ``eval "$(bin/services env)"``).
"""

from __future__ import annotations

import pyotp
import pytest

from hankoflow.models import AttemptBudget, OTPSecret
from hankoflow.services import attempts, totp
from hankoflow.services.totp import TotpResult
from tests.concurrency import run_concurrently

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
IP = "203.0.113.7"


def current_step(clock) -> int:
    """The TOTP step the clock is in."""
    return int(clock.timestamp() // totp.PERIOD)


@pytest.fixture(autouse=True)
def _still(clock):
    """Time stands still: a slow run cannot outlast the budget's one-second wait."""
    clock.stop()


def test_one_code_submitted_8_times_at_once_is_accepted_once(alice, clock):
    totp.save_secret(alice, SECRET, last_step=None)
    code = pyotp.TOTP(SECRET).generate_otp(current_step(clock))
    results = run_concurrently([lambda: totp.verify_login(alice, code, ip=IP)] * 8)
    assert results.count(TotpResult(ok=True)) == 1, results
    assert results.count(TotpResult(ok=False, replayed=True)) == 7, results
    assert OTPSecret.objects.get(account=alice).last_step == current_step(clock)


def test_parallel_wrong_codes_stay_within_the_budget(alice, clock):
    totp.save_secret(alice, SECRET, last_step=None)
    right = {pyotp.TOTP(SECRET).generate_otp(current_step(clock) + o) for o in (-1, 0, 1)}
    wrong = [f"{n:06d}" for n in range(40) if f"{n:06d}" not in right][:30]
    calls = [
        lambda n=n, c=c: totp.verify_login(alice, c, ip=f"10.0.{n}.1") for n, c in enumerate(wrong)
    ]
    results = run_concurrently(calls)
    assert not any(result.ok for result in results)
    everywhere = AttemptBudget.objects.get(
        kind="totp", subject=str(alice.pk), network=attempts.ALL_NETWORKS
    )
    assert everywhere.failures == attempts.SUBJECT_FREE
