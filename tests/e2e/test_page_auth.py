"""Sign up, log out and log in on the server-rendered page ``/`` (plain HTML forms, no
JavaScript), in Debian's Chromium, with emails that really travel.

The same journey as test_elements_auth.py, through ``hankoflow.web``: each flow state is a page
whose ``<h1>`` is the state's name and whose actions are ``<form method="post">`` elements
(``data-action`` names the action, inputs have the id ``<action>--<input>``).
A person fills a form and submits it; the browser posts it with Django's CSRF token and the
flow's own ``csrf_token``, and the answer is the next state (with the state's HTTP status).

1. sign up: "Sign up", email, the passcode from the email, a password -> "All done.", the
   ``hanko`` cookie; ``/protected/`` and ``/api/whoami`` see the user;
2. log out with the protected page's "Log out" form: the cookie is gone, ``/protected/``
   redirects to the sign-in page;
3. log in by passcode: email, "send a login passcode", the code -> success;
4. log out, log in with the password: a wrong one is refused (400, the field's error), the
   right one succeeds.

Emails: outbox row -> real Celery worker -> SMTP -> the test's sink (``mailbox``, conftest.py).
Needs PostgreSQL + Redis: skips without ``HANKOFLOW_TEST_SERVICES=1``, fails under ``CI=true``.
Hanko's defaults otherwise, except that passkeys and MFA are off (``email_auth_settings``):
they add onboarding pages to these journeys and have end-to-end tests of their own.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.support import (
    Traffic,
    fetch_json,
    path_of,
    screenshot,
    session_cookie,
    wait_until_sent,
)

try:
    from playwright.sync_api import Locator, Page, expect
except ImportError:  # reported by the ``browser_page`` fixture (conftest.py)
    expect = None

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "Quiet-Harbor-Compass-77"  # passes the demo's password validators
WRONG_PASSWORD = "Quiet-Harbor-Compass-78"
VERIFICATION_SUBJECT = "{code} is your code to confirm your email address"
LOGIN_SUBJECT = "{code} is your sign-in code for Hanko Authentication Service"


class FlowPage:
    """The server-rendered flow page, driven through its forms."""

    def __init__(self, page: Page, traffic: Traffic, base_url: str) -> None:
        self.page = page
        self.traffic = traffic
        self.base_url = base_url
        self.visited: list[tuple[str, int]] = []  # (state, HTTP status) of each state page

    def section(self) -> Locator:
        """The state's section: ``data-state`` and ``data-status`` name it, the heading is words."""
        return self.page.locator("section[data-state]")

    def expect_state(self, name: str, status: int = 200) -> None:
        expect(self.section()).to_have_attribute("data-state", name)
        expect(self.section()).to_have_attribute("data-status", str(status))

    def form(self, action: str) -> Locator:
        """The form that executes ``action`` (its ``data-action``)."""
        form = self.page.locator(f'main form.action[data-action="{action}"]')
        expect(form).to_have_count(1)
        return form

    def submit(self, action: str, then: str, status: int = 200, **inputs: str) -> None:
        """Fill ``inputs`` into the form of ``action``, press its button, land on ``then``."""
        form = self.form(action)
        for name, value in inputs.items():
            form.locator(f"[id='{action}--{name}']").fill(value)
        with self.page.expect_response(
            lambda r: r.request.method == "POST" and r.request.is_navigation_request()
        ) as answer:
            form.get_by_role("button").click()
        self.page.wait_for_load_state("domcontentloaded")
        assert answer.value.status == status, (action, answer.value.status)
        self.expect_state(then, status)
        self.visited.append((then, status))

    def start(self, link: str, then: str) -> None:
        """Follow a link of the home page's main part ("Sign in" / "Sign up")."""
        self.page.goto(f"{self.base_url}/")
        expect(self.page.get_by_role("heading", name="Welcome")).to_be_visible()
        self.page.get_by_role("main").get_by_role("link", name=link, exact=True).click()
        self.expect_state(then)
        self.visited.append((then, 200))

    def session_cookie(self) -> dict[str, Any] | None:
        return session_cookie(self.page)

    def fetch_json(self, path: str) -> tuple[int, Any]:
        return fetch_json(self.page, path)

    def state_json(self) -> dict[str, Any]:
        """The flow state the page rendered (its "for developers" JSON block)."""
        return json.loads(self.page.locator("details.raw pre code").text_content() or "null")


def assert_signed_in(flow: FlowPage, email: str, amr: list[str]) -> None:
    cookie = flow.session_cookie()
    assert cookie is not None, "no hanko cookie after the success page"
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]

    response = flow.page.goto(f"{flow.base_url}/protected/")
    assert response is not None and response.status == 200
    expect(flow.page.get_by_role("heading", name="Protected page")).to_be_visible()
    expect(flow.page.get_by_role("main")).to_contain_text(email)
    expect(flow.page.get_by_role("main")).to_contain_text(", ".join(amr))

    status, whoami = flow.fetch_json("/api/whoami")
    assert status == 200, whoami
    assert whoami["email"] == email and whoami["amr"] == amr


def log_out(flow: FlowPage) -> None:
    """The protected page's "Log out" form: POST /protected/logout/ -> the sign-in page."""
    expect(flow.page.get_by_role("heading", name="Protected page")).to_be_visible()
    with flow.page.expect_response(lambda r: r.url.endswith("/protected/logout/")) as answer:
        flow.page.get_by_role("button", name="Log out").click()
    assert answer.value.status == 302
    flow.page.wait_for_load_state("domcontentloaded")
    assert flow.page.url == f"{flow.base_url}/?flow=login"
    flow.expect_state("login_init")
    flow.visited.append(("login_init", 200))
    assert flow.session_cookie() is None, "the hanko cookie survived the logout"


def assert_signed_out(flow: FlowPage) -> None:
    status, body = flow.fetch_json("/api/whoami")
    assert status == 401, body
    response = flow.page.goto(f"{flow.base_url}/protected/")
    assert response is not None and response.status == 200
    redirect = response.request.redirected_from
    assert redirect is not None and redirect.response() is not None
    assert redirect.response().status == 302
    assert flow.page.url == f"{flow.base_url}/?flow=login&next=/protected/"
    flow.expect_state("login_init")
    flow.visited.append(("login_init", 200))


def test_sign_up_log_out_and_log_in_by_passcode_and_password_on_the_html_page(
    mailbox, browser_page, live_server, email_auth_settings
):
    page, traffic = browser_page
    flow = FlowPage(page, traffic, live_server.url)
    email = f"page-{uuid.uuid4().hex[:12]}@example.com"

    # 1. Sign up by passcode, with a password. ------------------------------------------------
    flow.start("Sign up", then="registration_init")
    flow.submit("register_login_identifier", then="passcode_confirmation", email=email)
    screenshot(page, "page-1-passcode")
    code = mailbox.code(email, VERIFICATION_SUBJECT)
    flow.submit("verify_passcode", then="password_creation", code=code)
    flow.submit("register_password", then="success", new_password=PASSWORD)
    expect(page.get_by_role("heading", name="Your account is ready")).to_be_visible()
    success = flow.state_json()
    assert success["payload"]["claims"]["email"]["address"] == email
    user_id = success["payload"]["claims"]["subject"]
    screenshot(page, "page-1-success")
    assert_signed_in(flow, email, amr=["otp", "pwd"])
    screenshot(page, "page-1-protected")

    # 2. Log out. ------------------------------------------------------------------------------
    log_out(flow)
    assert_signed_out(flow)

    # 3. Log in by passcode (the sign-in page is where the logout left us). ---------------------
    flow.submit("continue_with_login_identifier", then="login_method_chooser", email=email)
    screenshot(page, "page-3-chooser")
    flow.submit("continue_to_passcode_confirmation", then="passcode_confirmation")
    code = mailbox.code(email, LOGIN_SUBJECT)
    flow.submit("verify_passcode", then="success", code=code)
    assert flow.state_json()["payload"]["claims"]["subject"] == user_id
    # /protected/ sent the person here with ?next=: success leads back there.
    expect(page.get_by_role("link", name="Continue", exact=True)).to_have_attribute(
        "href", "/protected/"
    )
    assert_signed_in(flow, email, amr=["otp"])

    # 4. Log out; log in with the password: a wrong one first. --------------------------------
    log_out(flow)
    flow.submit("continue_with_login_identifier", then="login_method_chooser", email=email)
    flow.submit("continue_to_password_login", then="login_password")
    flow.submit("password_login", then="login_password", status=400, password=WRONG_PASSWORD)
    field_error = flow.form("password_login").locator(".field-error")
    expect(field_error).to_contain_text("value_invalid_error")
    expect(page.get_by_role("alert")).to_contain_text("form_data_invalid_error")
    assert flow.session_cookie() is None
    screenshot(page, "page-4-wrong-password")
    flow.submit("password_login", then="success", password=PASSWORD)
    assert flow.state_json()["payload"]["claims"]["subject"] == user_id
    assert_signed_in(flow, email, amr=["pwd"])

    assert flow.visited == [
        ("registration_init", 200),
        ("passcode_confirmation", 200),
        ("password_creation", 200),
        ("success", 200),
        ("login_init", 200),  # after the logout
        ("login_init", 200),  # /protected/ sends a signed-out person here
        ("login_method_chooser", 200),
        ("passcode_confirmation", 200),
        ("success", 200),
        ("login_init", 200),
        ("login_method_chooser", 200),
        ("login_password", 200),
        ("login_password", 400),
        ("success", 200),
    ]
    # Every step after the first page of a flow is a form POST to / (no Flow API JSON calls).
    assert {path_of(r.url) for r in traffic.requests if r.method == "POST"} == {
        "/",
        "/protected/logout/",
    }

    # Emails: the two codes, each sent once by the worker; nothing for the password login.
    assert len(mailbox.sink.messages_to(email)) == 2
    wait_until_sent(email, ["email_verification", "login"])

    # No 5xx and no page errors; the 4xx are the wrong password's page and /api/whoami after
    # the logout.
    traffic.assert_healthy(expected_4xx=2)
    # Every flow page came with its Content-Security-Policy, and Chromium reported no violation.
    pages = [
        r for r in traffic.requests if r.resource_type == "document" and urlsplit(r.url).path == "/"
    ]
    assert len(pages) >= len(flow.visited)
    for request in pages:
        policy = request.response().headers.get("content-security-policy") or ""
        assert "script-src 'self';" in policy and "unsafe" not in policy, (request.url, policy)
    assert [text for text in traffic.console_errors if "Content Security Policy" in text] == []
