"""A chunked body (no ``Content-Length``) against a real gunicorn is never buffered, so its size
cannot exhaust a worker (security-checks IN-02). Django reads a body only up to the declared
length: without one it sees an empty body and answers as for one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.integration.test_two_servers import Server, start_server, stop_server

pytestmark = pytest.mark.slow

MEGABYTE = b"x" * (1024 * 1024)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        # No query is needed for what this test sends; the file is never created.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PYTHONPATH", None)
    started = start_server("chunked", env, tmp_path)
    try:
        yield started
    finally:
        stop_server(started)


def chunks(megabytes: int) -> Iterator[bytes]:
    yield b'{"session_token": "'
    for _ in range(megabytes):
        yield MEGABYTE
    yield b'"}'


@pytest.mark.parametrize("path", ["/sessions/validate", "/logout"])
def test_a_large_chunked_body_is_never_read(server, path):
    response = requests.post(
        f"{server.url}{path}",
        data=chunks(32),  # a generator: requests sends it chunked
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert 400 <= response.status_code < 500, response.status_code
    # The worker is still there and answers.
    assert requests.get(f"{server.url}/health/alive", timeout=5).status_code == 200
