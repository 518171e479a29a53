"""Scale-out (issue 16): two app servers share one PostgreSQL database and one Redis, and nothing
that matters lives in a process's memory.

Two gunicorn processes serve the test database (``database_url_for_workers``) with the same
Redis cache and the same settings. A client walks one flow alternating between them, request by
request; the session one server issues works on the other, and revoking it on one is refused by
the other at once. A passcode one server mails (to a file both can reach) is verified on the
other. Wrong passwords split over both servers spend one budget (PostgreSQL rows for an account,
the Redis cache for an identifier without one). Needs the real services
(``HANKOFLOW_TEST_SERVICES=1``, ``bin/services env``).
"""

from __future__ import annotations

import email
import itertools
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings
from django.db import connection

from hankoflow.conf import settings as hankoflow_settings
from tests.celery_worker import database_url_for_workers

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("HANKOFLOW_TEST_SERVICES") != "1",
        reason="needs the real services: run bin/test (or bin/services start + env)",
    ),
]

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough password"
NO_WEBAUTHN = {"webauthn_available": False}
LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")
CODE = re.compile(r"\b(\d{6})\b")
TIMEOUT = 20  # seconds for one HTTP request


@dataclass
class Server:
    """One gunicorn process (one sync worker) on a port the kernel chose on 127.0.0.1."""

    process: subprocess.Popen[bytes]
    log: Path
    url: str = ""

    def log_tail(self) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-40:])


def start_server(name: str, env: dict[str, str], tmp: Path, timeout: float = 60.0) -> Server:
    log = tmp / f"{name}.log"
    command = [
        sys.executable, "-m", "gunicorn", "project.wsgi:application",
        "--bind", "127.0.0.1:0", "--workers", "1", "--worker-class", "sync",
        "--timeout", "30", "--graceful-timeout", "5", "--no-control-socket",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    server = Server(process, log)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{server.log_tail()}")
        if not server.url and (found := LISTENING.search(log.read_text(errors="replace"))):
            server.url = f"http://127.0.0.1:{found.group(1)}"
        if server.url:
            try:
                if requests.get(f"{server.url}/health/alive", timeout=2).status_code == 200:
                    return server
            except requests.RequestException:
                pass
        if time.monotonic() > deadline:
            stop_server(server)
            raise RuntimeError(f"{name} did not answer in time:\n{server.log_tail()}")
        time.sleep(0.1)


def stop_server(server: Server) -> None:
    if server.process.poll() is not None:
        return
    server.process.send_signal(signal.SIGTERM)  # graceful: the master stops its worker
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "mail"
    directory.mkdir()
    return directory


@pytest.fixture
def servers(transactional_db: None, tmp_path: Path, mail_dir: Path) -> Iterator[list[Server]]:
    """Two app servers on the test database, the suite's Redis cache and its settings.

    Needs committed rows (``transactional_db``) and PostgreSQL: a second process cannot share
    an in-memory SQLite. Stopped before the database is flushed.
    """
    assert connection.vendor == "postgresql", "the servers need the test database over TCP"
    assert mail_dir.is_absolute()
    assert django_settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    env = {
        **os.environ,
        # The suite's settings: its password hasher, so the test can seed accounts.
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url_for_workers(),
        "CACHE_URL": os.environ["CACHE_URL"],
        "SECRET_KEY": django_settings.SECRET_KEY,
        # A file both servers write and the test reads; sent in the web process (no broker).
        # django-environ drops the first "/" of the path: four slashes for an absolute one.
        "EMAIL_URL": f"filemail:///{mail_dir.resolve()}",
        "CELERY_BROKER_URL": "",
        "CELERY_RESULT_BACKEND": "",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PYTHONPATH", None)
    started: list[Server] = []
    try:
        for name in ("server-a", "server-b"):
            started.append(start_server(name, env, tmp_path))
        yield started
    finally:
        for server in started:
            stop_server(server)


class Walker:
    """A Flow API client that sends each request to the next server in turn."""

    def __init__(self, servers: list[Server]) -> None:
        self.servers = servers
        self.turns = itertools.cycle(range(len(servers)))
        self.used: list[int] = []

    def post(self, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        index = next(self.turns)
        self.used.append(index)
        server = self.servers[index]
        response = requests.post(f"{server.url}{path}", json=body, timeout=TIMEOUT)
        assert response.status_code < 500, server.log_tail()
        return response

    def start(self, flow: str) -> dict[str, Any]:
        return self.post(f"/{flow}").json()

    def act(
        self, state: dict[str, Any], action: str, input_data: dict[str, Any] | None = None
    ) -> requests.Response:
        href = state["actions"][action]["href"]
        return self.post(href, {"input_data": input_data or {}, "csrf_token": state["csrf_token"]})


def session_token(response: requests.Response) -> str:
    """The session JWT a successful flow hands out: ``X-Auth-Token`` or the session cookie."""
    if token := response.headers.get("X-Auth-Token"):
        return token
    jar = SimpleCookie()
    for header in response.raw.headers.getlist("Set-Cookie"):
        jar.load(header)
    name = hankoflow_settings.SESSION.COOKIE.NAME
    assert name in jar, f"no session cookie {name!r} in {list(jar)}"
    return jar[name].value


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def mailed_passcode(mail_dir: Path, to: str) -> str:
    """The code of the newest email to ``to`` that the file backend wrote."""
    found: list[tuple[float, str]] = []
    for path in mail_dir.iterdir():
        # Django's file backend writes one file per connection, messages separated by dashes.
        for chunk in path.read_bytes().split(b"-" * 79):
            message = email.message_from_bytes(chunk.strip(b"\n"))
            if to not in (message.get("To") or ""):
                continue
            for part in message.walk():
                if part.get_content_type() == "text/plain":
                    text = part.get_payload(decode=True).decode(errors="replace")
                    if code := CODE.search(text):
                        found.append((path.stat().st_mtime, code.group(1)))
    assert found, f"no passcode mailed to {to} in {list(mail_dir.iterdir())}"
    return max(found)[1]


@pytest.fixture
def address() -> str:
    # Rate-limit buckets in the shared Redis are keyed by the identifier: one of our own per run.
    return f"scale-out-{uuid.uuid4().hex[:12]}@example.com"


def to_password_login(walker: Walker, address: str) -> dict[str, Any]:
    state = walker.start("login")
    state = walker.act(state, "register_client_capabilities", NO_WEBAUTHN).json()
    chooser = walker.act(state, "continue_with_login_identifier", {"email": address}).json()
    assert chooser["name"] == "login_method_chooser", chooser
    state = walker.act(chooser, "continue_to_password_login").json()
    assert state["name"] == "login_password", state
    return state


def test_one_login_walks_across_two_servers_and_its_session_is_shared(
    servers: list[Server], account_factory, address: str
):
    account = account_factory(address, password=PASSWORD)
    walker = Walker(servers)
    done = walker.act(to_password_login(walker, address), "password_login", {"password": PASSWORD})
    assert walker.used == [0, 1, 0, 1, 0]  # every step ran on the other server than the last
    body = done.json()
    assert done.status_code == 200 and body["name"] == "success", body
    assert body["payload"]["claims"]["amr"] == ["pwd"]
    token = session_token(done)
    assert token.count(".") == 2  # a JWT

    server_a, server_b = servers
    # The session server A issued is valid on B (the last step ran on A), and the other way.
    for server in (server_b, server_a):
        me = requests.get(f"{server.url}/me", headers=bearer(token), timeout=TIMEOUT)
        assert me.status_code == 200, me.text
        assert me.json()["id"] == str(account.id)

    # Revoked on B, refused by A on the very next request: no cache of valid sessions per process.
    out = requests.post(f"{server_b.url}/logout", headers=bearer(token), timeout=TIMEOUT)
    assert out.status_code == 204, out.text
    for server in (server_a, server_b):
        me = requests.get(f"{server.url}/me", headers=bearer(token), timeout=TIMEOUT)
        assert me.status_code == 401, me.text


def test_a_passcode_mailed_by_one_server_is_verified_by_the_other(
    servers: list[Server], account_factory, mail_dir: Path, address: str
):
    account = account_factory(address)
    walker = Walker(servers)
    state = walker.start("login")  # A
    state = walker.act(state, "register_client_capabilities", NO_WEBAUTHN).json()  # B
    chooser = walker.act(state, "continue_with_login_identifier", {"email": address}).json()  # A
    sent = walker.act(chooser, "continue_to_passcode_confirmation")  # B mails the code
    assert sent.json()["name"] == "passcode_confirmation", sent.json()
    code = mailed_passcode(mail_dir, address)

    # A wrong code on A counts against the passcode B stored; the right one still works.
    wrong_code = f"{(int(code) + 1) % 1_000_000:06d}"
    wrong = walker.act(sent.json(), "verify_passcode", {"code": wrong_code})  # A
    assert wrong.status_code == 400, wrong.json()
    done = walker.act(wrong.json(), "verify_passcode", {"code": code})  # B
    assert walker.used == [0, 1, 0, 1, 0, 1]
    body = done.json()
    assert done.status_code == 200 and body["name"] == "success", body
    assert body["payload"]["claims"]["amr"] == ["otp"]
    me = requests.get(f"{servers[0].url}/me", headers=bearer(session_token(done)), timeout=TIMEOUT)
    assert me.status_code == 200 and me.json()["id"] == str(account.id)


@pytest.mark.parametrize("known", [True, False], ids=["account", "no-account"])
def test_wrong_passwords_on_both_servers_spend_one_budget(
    servers: list[Server], account_factory, address: str, known: bool
):
    # Five wrong passwords a minute per client and identifier, split 3 + 2 over the servers,
    # exhaust one budget. For an account the attempts are counted in PostgreSQL rows
    # (services/attempts); for an identifier without one, and by RATE_LIMITER.PASSWORD_LIMITS,
    # in the shared Redis cache: a cache per process would let both servers take five.
    if known:
        account_factory(address, password=PASSWORD)
    walker = Walker(servers)
    state = to_password_login(walker, address)  # 4 requests: the next one goes to A
    for _ in range(5):
        wrong = walker.act(state, "password_login", {"password": "not it"})
        assert wrong.status_code == 400, wrong.json()
        state = wrong.json()
    limited = walker.act(state, "password_login", {"password": PASSWORD})
    assert walker.used[4:] == [0, 1, 0, 1, 0, 1]
    assert limited.status_code == 429, limited.json()
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
