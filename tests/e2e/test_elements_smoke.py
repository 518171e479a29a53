"""Hanko's own ``<hanko-auth>`` (@teamhanko/hanko-elements 2.7.0) drives this server in Chromium.

A smoke test of the first states only: the page ``/elements/`` loads the unchanged bundle, the
element starts a login flow (``POST /login`` -> ``preflight``), runs the ``preflight`` auto-step
(``register_client_capabilities`` -> ``login_init``) and renders its login page in its shadow
DOM. What the elements send and expect is in ``shared/spec/client-contract.md`` §1, §5 and §9.

The browser is Debian's Chromium (``/usr/bin/chromium``, installed by
``bin/setup --with-services``), driven by Playwright for Python; Playwright's own browser
downloads are never used. Without Chromium, the bundle or Playwright the tests skip, except
under ``CI=true``, where they fail: CI installs all three.

Screenshots go to ``$TMPDIR/hankoflow-e2e/`` (never into the repository) for a human to look at.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from hankoflow.web.views import elements_bundle_path

try:
    from playwright.sync_api import Page, Request, Response, expect, sync_playwright
except ImportError:  # reported by the ``elements`` fixture: skip locally, fail in CI
    sync_playwright = None

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

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

# Counts the state changes the elements announce on ``document`` (client-contract.md §8).
RECORD_STATE_EVENTS = """
window.__hankoStateEvents = [];
document.addEventListener("hanko-after-state-change", (event) => {
  const state = event.detail && event.detail.state;
  window.__hankoStateEvents.push(state ? state.name : null);
});
"""


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _unavailable(reason: str) -> None:
    """Skip on a developer machine; fail in CI, which installs everything these tests need."""
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: e2e tests must run in CI, not skip)", pytrace=False)
    pytest.skip(reason)


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
        if _origin(request.url) == self.origin:
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

    def flow_calls(self) -> list[FlowCall]:
        """The Flow API requests, in the order the page sent them."""
        return [
            FlowCall.of(request)
            for request in self.requests
            if urlsplit(request.url).path in FLOW_PATHS
        ]

    def assert_clean(self) -> None:
        """No 4xx/5xx from our server, no failed request, no console or page error."""
        errors = [
            f"{r.method} {_path(r.url)} -> {_status(r)}"
            for r in self.requests
            if _status(r) is None or _status(r) >= 400
        ]
        assert errors == []
        assert self.failed == []
        assert self.console_errors == []
        assert self.page_errors == []
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
            path=_path(request.url),
            headers=request.headers,
            body=request.post_data,
            status=response.status,
            state=response.json(),
        )

    @property
    def summary(self) -> tuple[str, str, int, str]:
        return (self.method, self.path, self.status, self.state.get("name"))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _status(request: Request) -> int | None:
    response = request.response()
    return response.status if response is not None else None


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def loopback_server(live_server):
    """pytest-django's live server, checked to listen on the loopback interface only."""
    host = urlsplit(live_server.url).hostname
    assert host in {"localhost", "127.0.0.1"}, live_server.url
    bound = live_server.thread.httpd.socket.getsockname()[0]
    assert ipaddress.ip_address(bound).is_loopback, bound
    assert live_server.thread.httpd.socket.family in (socket.AF_INET, socket.AF_INET6)
    return live_server


@pytest.fixture
def elements(loopback_server) -> Iterator[tuple[Page, Traffic]]:
    """A fresh headless Chromium page whose traffic to the live server is being recorded.

    Function-scoped on purpose: Playwright's sync API runs an event loop in this thread while
    it is open, and pytest-django's database teardown must run after it has closed.
    """
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"{CHROMIUM} is missing: `bin/setup --with-services` installs Chromium")
    if sync_playwright is None:
        _unavailable("playwright is not installed: `bin/setup` installs requirements.txt")
    if not elements_bundle_path().is_file():
        _unavailable(f"{elements_bundle_path()} is missing: `bin/setup` runs npm install")

    traffic = Traffic(origin=_origin(loopback_server.url))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 720})
            context.set_default_timeout(TIMEOUT_MS)
            context.set_default_navigation_timeout(TIMEOUT_MS)
            page = context.new_page()
            page.add_init_script(RECORD_STATE_EVENTS)
            page.on("request", traffic.on_request)
            page.on("requestfailed", lambda r: traffic.failed.append(f"{r.url}: {r.failure}"))
            page.on("console", traffic.on_console)
            page.on("pageerror", lambda error: traffic.page_errors.append(str(error)))
            yield page, traffic
        finally:
            browser.close()


def _screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _open_elements_page(page: Page, live_server) -> Response:
    """Load ``/elements/`` and wait until ``<hanko-auth>`` has finished starting its flow.

    Returns the response to ``register_client_capabilities``. Finished means: the login page
    is in the shadow DOM *and* the element has dispatched its start state a second time. The
    elements re-dispatch the first state of a new flow 500 ms after it arrived
    (client-contract.md §5); a click before that could be overwritten by the stale page, so
    the tests wait for that second ``hanko-after-state-change`` event instead of sleeping.
    """
    with page.expect_response(
        lambda r: "action=register_client_capabilities" in r.url, timeout=TIMEOUT_MS
    ) as capabilities:
        page.goto(f"{live_server.url}/elements/", wait_until="domcontentloaded")
    # Playwright's CSS locators pierce the element's open shadow root.
    expect(page.locator("hanko-auth h1")).to_have_text(re.compile(r"^Sign in"), timeout=TIMEOUT_MS)
    page.wait_for_function(
        "window.__hankoStateEvents.filter((name) => name === 'login_init').length >= 2",
        timeout=TIMEOUT_MS,
    )
    page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
    return capabilities.value


def _assert_start_sequence(calls: list[FlowCall]) -> tuple[FlowCall, FlowCall]:
    """``POST /login`` -> preflight, then its ``register_client_capabilities`` -> login_init."""
    assert len(calls) >= 2, [c.summary for c in calls]
    start, capabilities = calls[0], calls[1]

    assert start.summary == ("POST", "/login", 200, "preflight")
    assert start.body is None  # the flow starts with no body at all (client-contract.md §1)
    assert start.headers.get("content-type") == "application/json"
    assert start.headers.get("x-language") == "en"  # <hanko-auth lang="en">

    # The auto-step posts to the href of the preflight state, verbatim.
    href = start.state["actions"]["register_client_capabilities"]["href"]
    assert re.fullmatch(rf"/login\?action=register_client_capabilities%40{UUID}", href), href
    assert capabilities.summary == ("POST", href, 200, "login_init")
    body = json.loads(capabilities.body or "null")
    assert body["csrf_token"] == start.state["csrf_token"]
    assert set(body["input_data"]) == {
        "webauthn_available",
        "webauthn_conditional_mediation_available",
        "webauthn_platform_authenticator_available",
    }
    assert all(isinstance(value, bool) for value in body["input_data"].values())
    assert capabilities.state["csrf_token"] != start.state["csrf_token"]  # rotated every step
    return start, capabilities


# --- tests --------------------------------------------------------------------------------------


def test_hanko_auth_starts_a_login_flow_and_renders_login_init(elements, live_server, settings):
    """Default config: ``login_init`` offers no sign-in method yet, and the element copes."""
    page, traffic = elements
    # Only what http:// needs; everything else is the demo project's configuration.
    settings.HANKOFLOW = {**settings.HANKOFLOW, "SESSION": {"COOKIE": {"SECURE": False}}}

    _open_elements_page(page, live_server)
    _screenshot(page, "login_init-default")

    calls = traffic.flow_calls()
    _, login_init = _assert_start_sequence(calls)
    assert len(calls) == 2, [c.summary for c in calls]  # and nothing after it
    # Retention is "persistent" by default, so there is nothing to choose (§4.0.2.1).
    assert "remember_me" not in login_init.state["actions"]

    # What <hanko-auth> 2.7.0 renders for a login_init without actions: the headline (plain
    # "Sign in"; "Sign in or create account" once the identifier action exists) and the
    # "Create account" link, which <hanko-auth> always shows (client-contract.md §5); no
    # inputs, buttons or checkbox, and its error box stays hidden.
    auth = page.locator("hanko-auth")
    expect(auth.locator("h1")).to_be_visible()
    expect(auth.get_by_role("button", name="Create account")).to_be_visible()
    expect(auth.locator("[part~=error]")).to_be_hidden()
    expect(auth.get_by_role("checkbox")).to_have_count(0)

    traffic.assert_clean()


def test_hanko_auth_offers_stay_signed_in_when_retention_is_prompt(elements, live_server, settings):
    """``SESSION.COOKIE.RETENTION = "prompt"`` puts ``remember_me`` on ``login_init``.

    hanko-elements 2.7.0 renders that action as a "Stay signed in" checkbox; ticking it runs
    the action (``POST /login?action=remember_me%40<flow>``), and the flow stays in
    ``login_init``.
    """
    page, traffic = elements
    settings.HANKOFLOW = {"SESSION": {"COOKIE": {"RETENTION": "prompt", "SECURE": False}}}

    _open_elements_page(page, live_server)
    _screenshot(page, "login_init-remember-me")

    calls = traffic.flow_calls()
    _, login_init = _assert_start_sequence(calls)
    assert len(calls) == 2, [c.summary for c in calls]
    remember_me = login_init.state["actions"]["remember_me"]
    flow_id = login_init.path.rsplit("%40", 1)[1]
    assert remember_me["href"] == f"/login?action=remember_me%40{flow_id}"

    checkbox = page.locator("hanko-auth").get_by_role("checkbox", name="Stay signed in")
    expect(checkbox).to_be_visible()
    expect(checkbox).not_to_be_checked()

    with page.expect_response(
        lambda r: "action=remember_me" in r.url, timeout=TIMEOUT_MS
    ) as answer:
        checkbox.click()
    assert answer.value.status == 200
    expect(checkbox).to_be_checked(timeout=TIMEOUT_MS)
    _screenshot(page, "login_init-remember-me-ticked")

    calls = traffic.flow_calls()
    assert [c.summary for c in calls[2:]] == [("POST", remember_me["href"], 200, "login_init")]
    assert json.loads(calls[2].body or "null") == {
        "input_data": {"remember_me": True},
        "csrf_token": login_init.state["csrf_token"],
    }
    assert "remember_me" in calls[2].state["actions"]  # still on offer after choosing
    traffic.assert_clean()
