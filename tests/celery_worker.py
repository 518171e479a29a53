"""Real Celery for slow and e2e tests: publish to a broker instead of running tasks eagerly,
and run a short-lived worker on the TEST database (tests/services/mail, tests/e2e).

``tests/settings.py`` runs tasks in-process (``CELERY_TASK_ALWAYS_EAGER``) so that flow tests
can read the mail from Django's outbox. A test of the real path switches that off with
``celery_publishing_to(broker_url)`` and starts ``celery_worker(...)`` on the same broker: the
worker that ``bin/services`` runs reads the ``hankoflow`` database and the environment's
``EMAIL_URL``, while a test's rows live in the test database and its mail must reach the test's
SMTP sink.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings as django_settings
from django.db import connection

from project.celery import app as celery_app

REPO = Path(__file__).resolve().parents[1]
# bin/services uses Redis databases 0-3. Each package whose tests run a worker takes its own
# database, so that two of them running at the same time never take each other's tasks.
MAIL_TEST_BROKER_DB = 13
E2E_TEST_BROKER_DB = 12
WEBHOOK_TEST_BROKER_DB = 11


def _forget_broker_connections() -> None:
    # What Celery does in a forked child: drop the pooled connections, so that the next publish
    # connects to the broker the configuration names now.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def celery_publishing_to(broker_url: str) -> Iterator[None]:
    """Publish tasks to ``broker_url`` instead of running them in-process (tests/settings.py).

    Process-wide: the live server's threads publish there too while the block runs.
    """
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


def private_broker_url(database: int = MAIL_TEST_BROKER_DB) -> str:
    """The services' Redis with a database of our own: the shared worker never sees our tasks.

    Tests that may run at the same time as another package's need another ``database`` (4-15).
    """
    parts = urlsplit(os.environ["CELERY_BROKER_URL"])
    return urlunsplit(parts._replace(path=f"/{database}"))


def purge_broker(broker_url: str) -> None:
    """Drop what an earlier, interrupted run left queued in a private Redis database."""
    import redis  # kombu's Redis transport needs it: installed with celery[redis]

    client = redis.Redis.from_url(broker_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.flushdb()
    finally:
        client.close()


def database_url_for_workers() -> str:
    db = connection.settings_dict
    credentials = f"{quote(db['USER'], safe='')}:{quote(db['PASSWORD'], safe='')}"
    return f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{quote(db['NAME'], safe='')}"


@contextmanager
def celery_worker(
    *, email_url: str, broker_url: str, log: Path, extra_env: dict[str, str] | None = None
) -> Iterator[None]:
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
        **(extra_env or {}),
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


def tail(log: Path, lines: int = 60) -> str:
    """The end of a worker's log, for a failure message."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"(no log: {error})"
