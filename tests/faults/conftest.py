"""Fixtures of the fault tests: private PostgreSQL and Redis servers (tests/faults/services.py).

They run only with the real services (``HANKOFLOW_TEST_SERVICES=1``: ``bin/test``, CI, or
``eval "$(bin/services env)"``), where the server binaries are installed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.services import PrivatePostgres, PrivateRedis, app_env, migrate


@pytest.fixture(scope="session")
def private_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivatePostgres]:
    """A migrated PostgreSQL cluster of our own, which a test may stop and start (and must
    leave running). Shared by the fault tests: each works on rows of its own."""
    if os.environ.get("HANKOFLOW_TEST_SERVICES") != "1":
        pytest.skip("needs the real services: run bin/test (or bin/services start + env)")
    server = PrivatePostgres()
    try:
        server.start()
        server.create_database()
        log = tmp_path_factory.mktemp("migrate") / "migrate.log"
        migrate(app_env(DJANGO_SETTINGS_MODULE="tests.settings", DATABASE_URL=server.url), log)
        yield server
    finally:
        server.destroy()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A redis-server of our own, which a test may stop and start."""
    if os.environ.get("HANKOFLOW_TEST_SERVICES") != "1":
        pytest.skip("needs the real services: run bin/test (or bin/services start + env)")
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
