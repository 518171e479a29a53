"""Fixtures of the email outbox tests: the SMTP sink, publishing to a real broker, and a
short-lived Celery worker on the test database (reusable by other slow/e2e tests)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings as django_settings
from django.db import connection

from hankoflow.testing.smtp import smtp_sink  # noqa: F401  (the fixture)
from project.celery import app as celery_app

REPO = Path(__file__).resolve().parents[2]
MAIL_TEST_BROKER_DB = 13  # bin/services uses Redis databases 0-3


def _forget_broker_connections() -> None:
    # What Celery does in a forked child: drop the pooled connections, so that the next publish
    # connects to the broker the configuration names now.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def celery_publishing_to(broker_url: str) -> Iterator[None]:
    """Publish tasks to ``broker_url`` instead of running them in-process (tests/settings.py)."""
    conf = celery_app.conf
    saved = conf.get("broker_url"), conf.task_always_eager, os.environ.get("CELERY_BROKER_URL")
    # Celery reads the CELERY_BROKER_URL variable before its configuration.
    os.environ.pop("CELERY_BROKER_URL", None)
    conf.broker_url, conf.task_always_eager = broker_url, False
    _forget_broker_connections()
    try:
        yield
    finally:
        conf.broker_url, conf.task_always_eager = saved[:2]
        if saved[2] is not None:
            os.environ["CELERY_BROKER_URL"] = saved[2]
        _forget_broker_connections()


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


def private_broker_url(database: int = MAIL_TEST_BROKER_DB) -> str:
    """The services' Redis with a database of our own: the shared worker never sees our tasks.

    Tests that may run at the same time as this package's need another ``database`` (4-15).
    """
    parts = urlsplit(os.environ["CELERY_BROKER_URL"])
    return urlunsplit(parts._replace(path=f"/{database}"))


def database_url_for_workers() -> str:
    db = connection.settings_dict
    credentials = f"{quote(db['USER'], safe='')}:{quote(db['PASSWORD'], safe='')}"
    return f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{quote(db['NAME'], safe='')}"


@contextmanager
def celery_worker(*, email_url: str, broker_url: str, log: Path) -> Iterator[None]:
    """Run ``celery -A project worker`` on the test database while the block runs.

    It uses the demo's settings (the suite's run tasks eagerly), this process's SECRET_KEY (to
    decrypt stored codes), ``email_url`` and ``broker_url``; publish to the same broker with
    ``celery_publishing_to(broker_url)``. Needs ``django_db(transaction=True)`` so the worker
    sees committed rows, and PostgreSQL (a second process cannot share an in-memory SQLite).
    """
    assert connection.vendor == "postgresql", "the worker needs the test database over TCP"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DATABASE_URL": database_url_for_workers(),
        "EMAIL_URL": email_url,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": "",
        "SECRET_KEY": django_settings.SECRET_KEY,
    }
    command = [
        sys.executable, "-m", "celery", "-A", "project", "worker",
        "--pool=solo", "--concurrency=1", "--loglevel=INFO",
        f"--hostname=test-{uuid.uuid4().hex[:8]}@%h",
        "--without-mingle", "--without-gossip", "--without-heartbeat",
    ]  # fmt: skip
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
