"""A gunicorn configuration for the race tests (``--config python:tests.faults.still_clock``):
every worker reads ``hankoflow.clock`` as the one instant in ``HANKOFLOW_TEST_CLOCK_AT``.

The attempt budget waits 1 s after the free failures; a burst of 50 requests on a busy 2-core
machine can outlast that second, and then lets one more guess through as the rules allow. With
the clock held still the budget's count is what the test checks, as in
tests/services/test_passwords_race.py.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any


def post_fork(server: Any, worker: Any) -> None:
    from hankoflow import clock

    instant = datetime.fromisoformat(os.environ["HANKOFLOW_TEST_CLOCK_AT"])
    clock.use(lambda: instant)
