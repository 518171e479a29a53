"""50 requests at the same instant against real app processes (issue 16; security-checks.md
FL-05, PW-06, PC-04, PC-05, RE-06, RE-07).

gunicorn runs 4 worker processes with 13 threads each (52 requests in flight at once, each with
its own PostgreSQL connection) on a private PostgreSQL cluster and a private Redis (the
rate-limit buckets every process shares). Clients on other networks are played with
``X-Forwarded-For`` from a trusted proxy (127.0.0.1). Every call is released behind one
barrier. What it proves:

* 50 times the same step of one flow: exactly one runs, 49 get ``403
  operation_not_permitted_error``, and the flow advanced once;
* 50 wrong passwords for one account from one network (50 flows): exactly ``PASSWORD_LIMITS``
  (5) reach the comparison, 45 are refused with 429;
* 50 wrong passwords from 50 networks: exactly ``SUBJECT_FREE`` (10) reach the comparison, the
  budget across networks refuses the other 40;
* 50 times a wrong code for one passcode (one flow): one comparison, one try spent;
* 50 wrong codes for one address from 50 networks (50 flows, 50 passcodes): exactly
  ``SUBJECT_FREE`` (10) comparisons, 40 refused with ``passcode_max_attempts_reached``.

The app's clock stands still (tests/faults/still_clock.py): the budget's first wait is one
second, which a burst on a busy machine can outlast.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from hankoflow import clock
from hankoflow.services import attempts
from tests.faults.client import NO_WEBAUTHN, FlowHttp, expect, mailed_passcode, sign_up
from tests.faults.services import (
    PrivatePostgres,
    PrivateRedis,
    Process,
    app_env,
    running,
    start_gunicorn,
)

pytestmark = pytest.mark.slow

RIVALS = 50
PASSWORD_TOKENS = 5  # RATE_LIMITER.PASSWORD_LIMITS.TOKENS of the demo's settings


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    """One Redis for the module: each test uses an account of its own, and so its own buckets."""
    if os.environ.get("HANKOFLOW_TEST_SERVICES") != "1":
        pytest.skip("needs the real services: run bin/test (or bin/services start + env)")
    server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server(
    private_postgres: PrivatePostgres,
    private_redis: PrivateRedis,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Process, Path]]:
    tmp_path = tmp_path_factory.mktemp("races")
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = app_env(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=private_postgres.url,
        CACHE_URL=private_redis.url(1),
        EMAIL_URL=f"filemail:///{mail_dir}",
        CELERY_BROKER_URL="",
        HANKOFLOW_IP_EXTRACTOR="x_forwarded_for",
        HANKOFLOW_TRUSTED_PROXIES="127.0.0.1/32",
        HANKOFLOW_TEST_CLOCK_AT=clock.now().isoformat(),
        HANKOFLOW_TEST_PASSCODE_EMAIL_TOKENS="1000",  # RIVALS networks send to one address
    )
    log = tmp_path / "gunicorn.log"
    config = "python:tests.faults.still_clock"  # the budget's 1 s wait cannot run out mid-burst
    with running(start_gunicorn(env, log, workers=4, threads=13, config=config)) as process:
        yield process, mail_dir


def at_once(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    """Release every call behind one barrier, each on its own thread; their answers."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], requests.Response]) -> requests.Response:
        barrier.wait(timeout=60)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def codes(responses: list[requests.Response]) -> Counter[tuple[int, str]]:
    """How many answers of each (status, error code)."""
    return Counter(
        (r.status_code, (r.json().get("error") or {}).get("code", "")) for r in responses
    )


def network(n: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"10.{n // 250}.{n % 250}.7"}  # one /24 each


def in_parallel(make: Callable[[int], Any], count: int) -> list[Any]:
    with ThreadPoolExecutor(10) as pool:
        return list(pool.map(make, range(count)))


def to_password_login(url: str, address: str, headers: dict[str, str]) -> tuple[FlowHttp, dict]:
    client = FlowHttp(url, headers=headers)
    state = expect(client.start("login"), "preflight")
    state = expect(client.act(state, "register_client_capabilities", NO_WEBAUTHN), "login_init")
    chooser = expect(
        client.act(state, "continue_with_login_identifier", {"email": address}),
        "login_method_chooser",
    )
    return client, expect(client.act(chooser, "continue_to_password_login"), "login_password")


def to_passcode(url: str, address: str, headers: dict[str, str]) -> tuple[FlowHttp, dict]:
    client = FlowHttp(url, headers=headers)
    state = expect(client.start("login"), "preflight")
    state = expect(client.act(state, "register_client_capabilities", NO_WEBAUTHN), "login_init")
    chooser = expect(
        client.act(state, "continue_with_login_identifier", {"email": address}),
        "login_method_chooser",
    )
    sent = client.act(chooser, "continue_to_passcode_confirmation")
    return client, expect(sent, "passcode_confirmation")


def new_account(url: str, mail_dir: Path) -> tuple[str, str]:
    address = f"race-{uuid.uuid4().hex[:12]}@example.com"
    return address, sign_up(FlowHttp(url, headers=network(9999)), address, mail_dir)


def budget(pg: PrivatePostgres, kind: str, subject: str) -> dict[str, int]:
    """Failures counted per network (``*`` across networks)."""
    rows = pg.query(
        "SELECT network, failures FROM hankoflow_attempt_budget WHERE kind = %s AND subject = %s",
        kind,
        subject,
    )
    return dict(rows)


def wrong_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_fifty_times_one_step_of_one_flow(server, private_postgres: PrivatePostgres):
    process, _ = server
    client = FlowHttp(process.url)
    start = expect(client.start("login"), "preflight")

    answers = at_once(
        [lambda: client.act(start, "register_client_capabilities", NO_WEBAUTHN)] * RIVALS
    )

    assert codes(answers) == {
        (200, ""): 1,
        (403, "operation_not_permitted_error"): RIVALS - 1,
    }, process.log_tail()
    flow_id = start["actions"]["register_client_capabilities"]["href"].split("%40")[1]
    [(version, state, steps)] = private_postgres.query(
        "SELECT version, state, jsonb_array_length(history) FROM hankoflow_flow WHERE id = %s",
        flow_id,
    )
    assert (version, state, steps) == (1, "login_init", 2)


@pytest.mark.parametrize(
    ("networks", "compared"),
    [(1, PASSWORD_TOKENS), (RIVALS, attempts.SUBJECT_FREE)],
    ids=["one-network", "fifty-networks"],
)
def test_fifty_wrong_passwords_for_one_account(
    server, private_postgres: PrivatePostgres, networks: int, compared: int
):
    process, mail_dir = server
    address, user_id = new_account(process.url, mail_dir)
    flows = in_parallel(
        lambda n: to_password_login(process.url, address, network(n % networks)), RIVALS
    )

    answers = at_once(
        [
            (lambda c=client, s=state: c.act(s, "password_login", {"password": "not it"}))
            for client, state in flows
        ]
    )

    assert codes(answers) == {
        (400, "form_data_invalid_error"): compared,  # compared: the password is wrong
        (429, "rate_limit_exceeded"): RIVALS - compared,
    }, process.log_tail()
    counts = budget(private_postgres, "password", user_id)
    assert counts["*"] == compared, counts


def test_fifty_times_a_wrong_code_for_one_passcode(server, private_postgres: PrivatePostgres):
    process, mail_dir = server
    address, _ = new_account(process.url, mail_dir)
    client, state = to_passcode(process.url, address, network(1))
    code = mailed_passcode(mail_dir, address)

    answers = at_once(
        [lambda: client.act(state, "verify_passcode", {"code": wrong_code(code)})] * RIVALS
    )

    counted = codes(answers)
    assert counted == {
        (400, "form_data_invalid_error"): 1,  # compared: the code is wrong
        (403, "operation_not_permitted_error"): RIVALS - 1,
    }, counted
    [(tries,)] = private_postgres.query(
        "SELECT tries FROM hankoflow_passcode WHERE email = %s ORDER BY created_at DESC LIMIT 1",
        address,
    )
    assert tries == 1


def test_fifty_wrong_codes_for_one_address(server, private_postgres: PrivatePostgres):
    process, mail_dir = server
    address, _ = new_account(process.url, mail_dir)
    flows = in_parallel(lambda n: to_passcode(process.url, address, network(n)), RIVALS)
    code = mailed_passcode(mail_dir, address)

    answers = at_once(
        [
            (lambda c=client, s=state: c.act(s, "verify_passcode", {"code": wrong_code(code)}))
            for client, state in flows
        ]
    )

    assert codes(answers) == {
        (400, "form_data_invalid_error"): attempts.SUBJECT_FREE,  # compared: wrong code
        (401, "passcode_max_attempts_reached"): RIVALS - attempts.SUBJECT_FREE,  # refused
    }, process.log_tail()
    counts = budget(private_postgres, "passcode", address)
    assert counts["*"] == attempts.SUBJECT_FREE, counts
