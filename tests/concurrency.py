"""One helper for the PostgreSQL race tests: calls released at the same instant.

Each call runs in its own thread, so it gets its own database connection and (by default) its own
transaction, as concurrent flow steps have. SQLite serialises writers and would hide the races,
so the tests that use it skip themselves elsewhere.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.db import connection, transaction

T = TypeVar("T")
E = TypeVar("E", bound=BaseException)


def run_concurrently(
    calls: Sequence[Callable[[], T]],
    *,
    atomic: bool = True,
    returning: type[E] | tuple[type[E], ...] = (),
) -> list[T | E]:
    """Release every call at once behind a barrier; return their results in order.

    ``atomic`` wraps each call in a transaction (one flow step). An exception of a type in
    ``returning`` is caught inside that transaction (as a flow step catches a refusal and commits
    what it wrote) and returned in the call's place; any other exception propagates.
    """
    barrier = threading.Barrier(len(calls))

    def attempt(call: Callable[[], T]) -> T | E:
        try:
            return call()
        except returning as exc:
            return exc

    def run(call: Callable[[], T]) -> T | E:
        try:
            barrier.wait(timeout=30)  # a broken rival must not hang the suite
            if not atomic:
                return attempt(call)
            with transaction.atomic():
                return attempt(call)
        finally:
            connection.close()  # each thread opened its own connection

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))
