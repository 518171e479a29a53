"""PostgreSQL restarted under load (issue 16; security-checks.md RE-01).

gunicorn (2 workers x 2 threads, persistent connections: ``CONN_MAX_AGE`` with
``CONN_HEALTH_CHECKS``) serves a private PostgreSQL cluster while four clients sign up in a
loop. The test stops the cluster (``pg_ctl stop -m fast``: every connection is cut), keeps it
down for a moment and starts it again. What it proves:

* while it is down every step answers 503 with ``Retry-After`` (never a 500, never a hang);
* a step refused that way left nothing behind: the client sends the same step with the same
  CSRF token once the database is back and the flow goes on (no 403: the step did not half-run);
* the app recovers by itself: the workers' dead connections are replaced on the next request,
  no restart of gunicorn; every sign-up started before, during or after the outage finishes
  (a passcode email whose inline send the outage cut off stays pending in the outbox; the test
  runs the sweeper once the database is back, as beat does every minute);
* the database holds no half-written sign-up: each account has its one primary, verified email
  and a password, and each flow row's state, version and history agree.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.faults.client import (
    GIVE_UP,
    NO_WEBAUTHN,
    PASSWORD,
    FlowHttp,
    Recorder,
    expect,
    mailed_passcode,
    patiently,
    sign_up,
)
from tests.faults.services import (
    REPO,
    PrivatePostgres,
    app_env,
    blackhole,
    running,
    start_gunicorn,
    wait_until,
)

pytestmark = pytest.mark.slow

CLIENTS = 4
OUTAGE = 2.0  # seconds the database stays down


def sweep_outbox(env: dict[str, str], log: Path) -> None:
    """Beat's outbox sweep, once (``manage.py hankoflow_send_outbox``): it sends what an outage
    left pending; a row being sent inline meanwhile is sent once (each row is claimed)."""
    with log.open("wb") as output:
        done = subprocess.run(
            [sys.executable, "manage.py", "hankoflow_send_outbox", "--older-than", "0"],
            cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT, timeout=60,
        )  # fmt: skip
    assert done.returncode == 0, log.read_text()


def test_postgres_restart_under_load(private_postgres: PrivatePostgres, tmp_path: Path):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = app_env(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=private_postgres.url,
        # django-environ drops the first "/" of the path: four slashes for an absolute one.
        EMAIL_URL=f"filemail:///{mail_dir}",
        CELERY_BROKER_URL="",  # mail is sent in the web process, after the step commits
    )
    recorder = Recorder()
    users: list[str] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    with running(start_gunicorn(env, tmp_path / "gunicorn.log", workers=2, threads=2)) as server:

        def load() -> None:
            client = FlowHttp(server.url, recorder)
            try:
                while not stop.is_set():
                    address = f"load-{uuid.uuid4().hex[:12]}@example.com"
                    users.append(sign_up(client, address, mail_dir))
            except BaseException as exc:  # noqa: BLE001 (reported by the test below)
                failures.append(exc)

        threads = [threading.Thread(target=load, daemon=True) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        # One sign-up of our own waits at its last step before the outage.
        client = FlowHttp(server.url, recorder)
        address = f"paused-{uuid.uuid4().hex[:12]}@example.com"
        state = expect(client.start("registration"), "preflight")
        state = expect(
            client.act(state, "register_client_capabilities", NO_WEBAUTHN), "registration_init"
        )
        confirm = expect(
            client.act(state, "register_login_identifier", {"email": address}),
            "passcode_confirmation",
        )
        code = wait_until(lambda: mailed_passcode(mail_dir, address), timeout=30, what="code")
        password = expect(
            client.act(confirm, "verify_passcode", {"code": code}), "password_creation"
        )
        wait_until(lambda: len(users) >= CLIENTS, timeout=GIVE_UP, what="sign-ups before")

        down_at = time.monotonic()
        private_postgres.stop()
        refused = client.act(password, "register_password", {"new_password": PASSWORD})
        time.sleep(OUTAGE)
        private_postgres.start()
        up_at = time.monotonic()
        before = len(users)

        # The same step, the same CSRF token: the refused attempt left nothing behind.
        mfa = expect(
            patiently(
                lambda: client.act(password, "register_password", {"new_password": PASSWORD})
            ),
            "mfa_method_chooser",
        )
        users.append(expect(client.act(mfa, "skip"), "success")["payload"]["user"]["id"])
        sweep_outbox(env, tmp_path / "sweep.log")
        wait_until(
            lambda: len(users) >= before + 1 + CLIENTS, timeout=GIVE_UP, what="sign-ups after"
        )
        stop.set()
        for thread in threads:
            thread.join(timeout=GIVE_UP)
        log = server.log_tail(80)

    assert not failures, f"{failures!r}\n{log}"
    assert refused.status_code == 503, refused.text
    assert refused.headers["Retry-After"] == "5"
    assert refused.json()["error"]["code"] == "technical_error"  # Hanko's error state

    answers = list(recorder.answers)
    statuses = sorted({answer.status for answer in answers})
    assert set(statuses) <= {200, 503}, statuses  # no 500, no 403, no dropped connection
    outage = [a for a in answers if a.status == 503]
    assert outage and all(a.retry_after == "5" for a in outage)
    # Nothing refused that was sent once the database had started: no stale connection.
    assert all(a.sent_at < up_at for a in outage)
    first_ok = min(a.received_at for a in answers if a.status == 200 and a.sent_at >= up_at)
    print(
        f"\nPostgreSQL down {up_at - down_at:.1f} s: {len(outage)} answers 503 (Retry-After: 5)"
        f" of {len(answers)}; first 200 {1000 * (first_ok - up_at):.0f} ms after pg_ctl start"
        f" returned; {len(users)} sign-ups, {len(users) - before} finished after the outage"
    )

    # No half-written sign-up and no half-written flow in the database.
    accounts = private_postgres.query(
        "SELECT DISTINCT account_id FROM hankoflow_email WHERE address LIKE 'load-%%'"
        " OR address LIKE 'paused-%%'"
    )
    assert {str(row[0]) for row in accounts} == set(users)
    assert not private_postgres.query(
        "SELECT a.id FROM hankoflow_account a LEFT JOIN hankoflow_email e"
        " ON e.account_id = a.id AND e.is_primary AND e.is_verified WHERE e.id IS NULL"
    )
    assert not private_postgres.query(
        "SELECT a.id FROM hankoflow_account a JOIN auth_user u ON u.id = a.user_id"
        " WHERE u.password = '' OR u.password LIKE '!%%'"
    )
    assert not private_postgres.query(  # every flow of every test so far
        "SELECT id FROM hankoflow_flow WHERE state <> stash->>'state'"
        " OR version <> jsonb_array_length(history) - 1"
    )


def test_a_database_that_never_answers_gets_503_not_a_hung_worker(tmp_path: Path):
    # Without a connect timeout libpq waits for the server's answer for ever: the worker hangs
    # until gunicorn kills it (--timeout) and the client gets no answer at all.
    with blackhole() as port:
        env = app_env(
            DJANGO_SETTINGS_MODULE="tests.settings",
            DATABASE_URL=f"postgres://postgres@127.0.0.1:{port}/faults",
            CELERY_BROKER_URL="",
        )
        with running(start_gunicorn(env, tmp_path / "gunicorn.log", timeout=20)) as server:
            client = FlowHttp(server.url)
            try:
                answer = client.start("login")
            except requests.ConnectionError as exc:
                pytest.fail(f"no answer: {exc}\n{server.log_tail()}")

    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "5"
