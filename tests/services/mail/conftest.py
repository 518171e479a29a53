"""Fixtures of the email outbox tests: the SMTP sink and ports that refuse or hang.

Publishing to a real broker and the short-lived Celery worker on the test database live in
``tests/celery_worker.py`` (shared with tests/e2e).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from hankoflow.testing.smtp import smtp_sink  # noqa: F401  (the fixture)


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def hung_port() -> Iterator[int]:
    """A port whose connections the kernel accepts but nobody ever answers (a frozen Redis)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]
