"""A Flow API client over HTTP for the fault tests: one gunicorn server, every answer recorded
(status, ``Retry-After``, when it was sent) so that a test can count what clients saw."""

from __future__ import annotations

import email
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

NO_WEBAUTHN = {"webauthn_available": False}
PASSWORD = "a long enough password"
CODE = re.compile(r"\b(\d{6})\b")
TIMEOUT = 30  # seconds for one request


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
    """Flow API steps against ``base_url``; answers go to ``recorder``."""

    def __init__(self, base_url: str, recorder: Recorder | None = None) -> None:
        self.base_url = base_url
        self.recorder = recorder or Recorder()
        self.session = requests.Session()

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
