"""When a wrong guess counts (security-checks.md PW-06, RE-06): the attempt budget's wait runs
from the moment the failure is reported, not from when the attempt began.

Under a burst an attempt may wait seconds for the budget's row lock (or for the password
hasher) between ``hold`` and ``failed``. Stamped with the earlier instant, the failure's wait
would already be over when the next attempt reads it, and a burst longer than the first wait
(1 s) let one more guess through (seen with 50 guesses at once from 50 networks,
tests/faults/test_races.py, before the clock was held still there)."""

from __future__ import annotations

import pytest
from django.db import transaction

from hankoflow.services import attempts

pytestmark = pytest.mark.django_db

IP = "203.0.113.9"
SUBJECT = "6a1f0e1c-0000-4000-8000-000000000000"


def guess_wrong(clock, *, held_for: float = 0.0) -> attempts.Attempt:
    with transaction.atomic():
        attempt = attempts.hold(attempts.PASSWORD, SUBJECT, IP)
        if attempt.allowed:
            clock.advance(seconds=held_for)  # waiting for the lock, hashing
            attempt.failed()
        return attempt


def test_the_wait_after_a_failure_runs_from_when_it_was_reported(clock):
    clock.stop()
    for _ in range(attempts.NETWORK_FREE - 1):
        assert guess_wrong(clock).allowed
    assert guess_wrong(clock, held_for=3).allowed  # the last free one, 3 s in the queue

    clock.advance(seconds=0.5)
    refused = guess_wrong(clock)

    assert not refused.allowed  # 0.5 s after the failure, not 3.5 s
    assert refused.retry_after == 1
