"""A Flow API client over HTTP for the fault tests: one gunicorn server, every answer recorded
(status, ``Retry-After``, when it was sent) so that a test can count what clients saw."""

from __future__ import annotations

import email
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.faults.services import wait_until

NO_WEBAUTHN = {"webauthn_available": False}
PASSWORD = "a long enough password"
CODE = re.compile(r"\b(\d{6})\b")
TIMEOUT = 30  # seconds for one request
RETRY_PAUSE = 0.2  # a client's pause before it sends a refused step again
GIVE_UP = 60.0  # a client stops retrying one step after this long (the test then fails)


@dataclass(frozen=True)
class Answer:
    sent_at: float  # time.monotonic() when the request went out
    received_at: float  # ... and when its answer (or failure) came back
    status: int  # 0: no HTTP answer (connection refused or reset)
    retry_after: str | None
    path: str


@dataclass
class Recorder:
    """Every answer the clients of a test got, in order."""

    answers: list[Answer] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, answer: Answer) -> None:
        with self.lock:
            self.answers.append(answer)

    def statuses(self) -> list[int]:
        with self.lock:
            return [answer.status for answer in self.answers]


class FlowHttp:
    """Flow API steps against ``base_url``; answers go to ``recorder``. ``headers`` go with
    every request (e.g. ``X-Forwarded-For`` to play a client on another network)."""

    def __init__(
        self,
        base_url: str,
        recorder: Recorder | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.base_url = base_url
        self.recorder = recorder or Recorder()
        self.session = requests.Session()
        # A connection per request: gunicorn closes idle keep-alive connections after 2 s, and
        # a POST sent on one it is closing fails with a reset.
        self.session.headers.update({"Connection": "close", **(headers or {})})

    def post(self, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        sent_at = time.monotonic()
        try:
            response = self.session.post(f"{self.base_url}{path}", json=body, timeout=TIMEOUT)
        except requests.ConnectionError:
            self.recorder.add(Answer(sent_at, time.monotonic(), 0, None, path))
            raise
        self.recorder.add(
            Answer(
                sent_at,
                time.monotonic(),
                response.status_code,
                response.headers.get("Retry-After"),
                path,
            )
        )
        return response

    def start(self, flow: str) -> requests.Response:
        return self.post(f"/{flow}")

    def act(
        self, state: dict[str, Any], action: str, input_data: dict[str, Any] | None = None
    ) -> requests.Response:
        href = state["actions"][action]["href"]
        return self.post(href, {"input_data": input_data or {}, "csrf_token": state["csrf_token"]})


def mailed_passcode(mail_dir: Path, to: str) -> str | None:
    """The code of the newest email to ``to`` that Django's file backend wrote, or None."""
    found: list[tuple[float, str]] = []
    for path in mail_dir.iterdir():
        # One file per connection, messages separated by a line of 79 dashes.
        for chunk in path.read_bytes().split(b"-" * 79):
            message = email.message_from_bytes(chunk.strip(b"\n"))
            if to not in (message.get("To") or ""):
                continue
            for part in message.walk():
                if part.get_content_type() == "text/plain":
                    text = part.get_payload(decode=True).decode(errors="replace")
                    if code := CODE.search(text):
                        found.append((path.stat().st_mtime, code.group(1)))
    return max(found)[1] if found else None


def patiently(send: Callable[[], requests.Response]) -> requests.Response:
    """Send a step until it is not refused for an outage (503, or no answer): what a client
    following ``Retry-After`` does, with a shorter pause."""
    deadline = time.monotonic() + GIVE_UP
    while True:
        try:
            response = send()
            if response.status_code != 503:
                return response
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("a step was refused for a minute")
        time.sleep(RETRY_PAUSE)


def expect(response: requests.Response, state: str) -> dict[str, Any]:
    body = response.json()
    assert response.status_code == 200 and body.get("name") == state, (response.status_code, body)
    return body


def sign_up(client: FlowHttp, address: str, mail_dir: Path) -> str:
    """A whole sign-up (email, passcode, password, no MFA); the new user's id."""
    state = expect(patiently(lambda: client.start("registration")), "preflight")
    state = expect(
        patiently(lambda: client.act(state, "register_client_capabilities", NO_WEBAUTHN)),
        "registration_init",
    )
    confirm = expect(
        patiently(lambda: client.act(state, "register_login_identifier", {"email": address})),
        "passcode_confirmation",
    )
    code = wait_until(
        lambda: mailed_passcode(mail_dir, address), timeout=GIVE_UP, what=f"code to {address}"
    )
    password = expect(
        patiently(lambda: client.act(confirm, "verify_passcode", {"code": code})),
        "password_creation",
    )
    mfa = expect(
        patiently(lambda: client.act(password, "register_password", {"new_password": PASSWORD})),
        "mfa_method_chooser",
    )
    done = expect(patiently(lambda: client.act(mfa, "skip")), "success")
    return done["payload"]["user"]["id"]
