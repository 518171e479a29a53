"""What the browser tests share: Debian's Chromium, the record of a page's traffic, the
state events of Hanko's elements, screenshots, and skip-or-fail when something is missing.

The browser is Debian's Chromium (``/usr/bin/chromium``, installed by
``bin/setup --with-services``), driven by Playwright for Python; Playwright's own browser
downloads are never used. Without what a test needs (Chromium, Playwright, the elements' bundle,
PostgreSQL + Redis) it skips, except under ``CI=true``, where it fails: CI installs all of it.

Screenshots go to ``$TMPDIR/hankoflow-e2e/`` (never into the repository) for a human to look at.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page, Request

CHROMIUM = Path("/usr/bin/chromium")
# Flags for a machine with a closed network (python.md, "Known to work"): without the
# background-networking ones Chromium keeps trying to reach Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000
SCREENSHOTS = Path(tempfile.gettempdir()) / "hankoflow-e2e"

# The Flow API endpoints the elements may call (client-contract.md §1).
FLOW_PATHS = {"/login", "/registration", "/profile", "/token_exchange"}
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

# Records the state changes the elements announce on ``document`` (client-contract.md §8).
RECORD_STATE_EVENTS = """
window.__hankoStateEvents = [];
document.addEventListener("hanko-after-state-change", (event) => {
  const state = event.detail && event.detail.state;
  window.__hankoStateEvents.push(state ? state.name : null);
});
"""

# Chromium logs every 4xx/5xx answer to a request of the page as a console error.
FAILED_RESOURCE = re.compile(
    r"^Failed to load resource: the server responded with a status of (\d{3})\b"
)


T = TypeVar("T")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Skip on a developer machine; fail in CI, which installs everything these tests need."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: e2e tests must run in CI, not skip)", pytrace=False)
    pytest.skip(reason)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def status_of(request: Request) -> int | None:
    response = request.response()
    return response.status if response is not None else None


@dataclass
class Traffic:
    """Everything the page did that a test may assert on, recorded from before navigation."""

    origin: str
    requests: list[Request] = field(default_factory=list)  # to our origin, in order
    foreign: list[str] = field(default_factory=list)  # http(s) requests elsewhere
    failed: list[str] = field(default_factory=list)  # network failures (no response)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def on_request(self, request: Request) -> None:
        if origin_of(request.url) == self.origin:
            self.requests.append(request)
        elif request.url.startswith(("http:", "https:")):
            self.foreign.append(f"{request.method} {request.url}")

    def on_console(self, message: Any) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        # Chromium asks for /favicon.ico by itself (no page code does); the page declares no
        # icon, so the server's 404 shows as "Failed to load resource". Not the elements' doing.
        if urlsplit(url).path == "/favicon.ico":
            return
        self.console_errors.append(f"{message.text} ({url})")

    def flow_calls(self, since: int = 0) -> list[FlowCall]:
        """The Flow API requests (from the ``since``-th request on), in the order sent."""
        return [
            FlowCall.of(request)
            for request in self.requests[since:]
            if urlsplit(request.url).path in FLOW_PATHS
        ]

    def mark(self) -> int:
        """A position in ``requests``, for ``flow_calls(since=...)``."""
        return len(self.requests)

    def answered(self) -> list[tuple[str, str, int | None]]:
        """``(method, path, status)`` of every request to our server, in order."""
        return [(r.method, path_of(r.url), status_of(r)) for r in self.requests]

    def assert_clean(self) -> None:
        """No 4xx/5xx from our server, no failed request, no console or page error."""
        self.assert_healthy(expected_4xx=0)

    def assert_healthy(self, expected_4xx: int = 0) -> None:
        """No 5xx, no page error, no failed or foreign request, and exactly ``expected_4xx``
        4xx answers (a test names them itself); the only console errors allowed are Chromium's
        "Failed to load resource" lines for those 4xx answers."""
        answers = self.answered()
        server_errors = [a for a in answers if a[2] is not None and a[2] >= 500]
        assert server_errors == [], answers
        # A request with no answer is a failure too, except a stylesheet or script the browser
        # dropped because the test navigated on before it loaded (a 304 cut short).
        unanswered = [
            a
            for a in answers
            if a[2] is None and not (a[0] == "GET" and a[1].endswith((".css", ".js")))
        ]
        assert unanswered == [], answers
        client_errors = [a for a in answers if a[2] is not None and 400 <= a[2] < 500]
        assert len(client_errors) == expected_4xx, client_errors
        # The same rule for network failures: a stylesheet or script aborted by the navigation.
        failed = [f for f in self.failed if not _asset_cut_short(f)]
        assert failed == [], self.failed
        assert self.page_errors == []
        unexplained = [
            text
            for text in self.console_errors
            if not ((m := FAILED_RESOURCE.match(text)) and 400 <= int(m.group(1)) < 500)
        ]
        assert unexplained == [], self.console_errors
        assert len(self.console_errors) <= expected_4xx, self.console_errors
        # The bundle is self-contained: the element talks to nobody but this server.
        assert self.foreign == []


@dataclass
class FlowCall:
    method: str
    path: str  # path and query exactly as sent, e.g. /login?action=remember_me%40<uuid>
    headers: dict[str, str]
    body: str | None
    status: int
    state: dict[str, Any]

    @classmethod
    def of(cls, request: Request) -> FlowCall:
        response = request.response()
        assert response is not None, f"no response to {request.method} {request.url}"
        return cls(
            method=request.method,
            path=path_of(request.url),
            headers=request.headers,
            body=request.post_data,
            status=response.status,
            state=response.json(),
        )

    @property
    def action(self) -> str | None:
        """The action's name (``remember_me`` of ``/login?action=remember_me%40<id>``)."""
        found = re.search(r"[?&]action=([a-z_]+)%40", self.path)
        return found.group(1) if found else None

    @property
    def summary(self) -> tuple[str, str, int, str]:
        return (self.method, self.path, self.status, self.state.get("name"))

    @property
    def step(self) -> tuple[str, str | None, int, str]:
        """``(endpoint, action, status, state)``: a step without the flow id in it."""
        return (urlsplit(self.path).path, self.action, self.status, self.state.get("name"))


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def state_events(page: Page) -> list[str | None]:
    return page.evaluate("window.__hankoStateEvents")


def wait_for_state_events(page: Page, name: str, count: int) -> None:
    """Wait until the elements have announced state ``name`` at least ``count`` times."""
    page.wait_for_function(
        "([name, count]) => window.__hankoStateEvents.filter((n) => n === name).length >= count",
        arg=[name, count],
        timeout=TIMEOUT_MS,
    )


def count_state_events(page: Page, name: str) -> int:
    return sum(1 for event in state_events(page) if event == name)


def outside_event_loop(function: Callable[[], T]) -> T:
    """Run ``function`` (database queries) in a thread of its own and return its result.

    Playwright's sync API runs an asyncio event loop in the test's thread while the browser is
    open, and Django refuses ORM calls there (``SynchronousOnlyOperation``). The thread opens
    its own connection to the test database (committed rows: ``transaction=True``) and closes
    it before returning.
    """
    from django.db import connections

    def run() -> T:
        try:
            return function()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def session_cookie(page: Page) -> dict[str, Any] | None:
    """Hanko's session cookie (``hanko``) in the page's browser context, if any."""
    cookies = [c for c in page.context.cookies() if c["name"] == "hanko"]
    assert len(cookies) <= 1, cookies
    return cookies[0] if cookies else None


def fetch_json(page: Page, path: str) -> tuple[int, Any]:
    """``fetch(path)`` from the page (its cookies, its origin); the status and the JSON body."""
    answer = page.evaluate(
        """async (path) => {
            const response = await fetch(path, {headers: {Accept: "application/json"}});
            return {status: response.status, body: await response.text()};
        }""",
        path,
    )
    return answer["status"], json.loads(answer["body"])


def wait_until_sent(email: str, kinds: list[str]) -> None:
    """The outbox rows to ``email`` are ``kinds`` (oldest first), all sent, codes wiped.

    The worker marks a row sent right after the SMTP server has taken the message, so this
    can trail the sink by a moment.
    """
    from hankoflow.models import OutboxEmail

    def rows() -> list[tuple[str, str, bool]]:
        return [
            (row.kind, row.status, row.secret is not None)
            for row in OutboxEmail.objects.filter(to=email).order_by("created_at")
        ]

    wanted = [(kind, OutboxEmail.Status.SENT, False) for kind in kinds]
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while (found := outside_event_loop(rows)) != wanted:
        assert time.monotonic() < deadline, found
        time.sleep(0.1)


def _asset_cut_short(failure: str) -> bool:
    """``"<url>: net::ERR_ABORTED"`` for a stylesheet or script the navigation left behind."""
    url, _, reason = failure.rpartition(": ")
    return reason == "net::ERR_ABORTED" and urlsplit(url).path.endswith((".css", ".js"))
