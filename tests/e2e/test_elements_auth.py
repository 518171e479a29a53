"""Sign up, log out and log in with Hanko's own ``<hanko-auth>`` (@teamhanko/hanko-elements
2.7.0, unchanged) on ``/elements/``, in Debian's Chromium, with emails that really travel.

One person's journey, as in Hanko's own e2e suite (client-contract.md §12, "pw" scenarios):

1. sign up by passcode: "Create account", email, the passcode from the email, a password
   (Hanko's default config asks for one at sign-up) -> session: the page's "Signed in" note,
   the ``hanko`` cookie; ``/protected/`` (``login_required``) and ``/api/whoami`` (DRF) see
   the user;
2. log out with the page's "Log out" button (``hanko.logout()`` -> ``POST /logout``): the
   cookie is gone, ``<hanko-auth>`` is back, ``/protected/`` redirects to the sign-in page;
3. log in by passcode: email, "Passcode" in the login method chooser, the code -> session;
4. log out, log in with the password: a wrong one shows the element's error and stays on the
   page, the right one creates a session.

Every passcode email is written to the outbox by the flow step, published to a private Redis
database, sent by a real Celery worker through SMTP and read from the test's SMTP sink
(``mailbox`` in conftest.py). Needs PostgreSQL + Redis: skips without
``HANKOFLOW_TEST_SERVICES=1``, fails under ``CI=true``.
Hanko's defaults otherwise, except that passkeys and MFA are off (``email_auth_settings``):
they add onboarding pages to these journeys and have end-to-end tests of their own.

What hanko-elements 2.7.0 shows, found in its shadow DOM (Playwright's CSS and role locators
pierce open shadow roots): headlines in ``h1``; the email field labelled "Email"; six passcode
digit inputs ``passcode0``..``passcode5`` that submit by themselves on the sixth digit; "New
password" / "Password" fields; the chooser's "Passcode" / "Password" buttons; the error box
``[part~=error]``. After ``success`` the element keeps showing its last page (a host app is
expected to navigate away), so the page hides it and shows who is signed in instead.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from tests.e2e.support import (
    FlowCall,
    Traffic,
    count_state_events,
    fetch_json,
    screenshot,
    session_cookie,
    state_events,
    wait_for_state_events,
    wait_until_sent,
)

try:
    from playwright.sync_api import Locator, Page, expect
except ImportError:  # reported by the ``browser_page`` fixture (conftest.py)
    expect = None

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "Vivid-Meadow-Lantern-42"  # passes the demo's password validators
WRONG_PASSWORD = "Vivid-Meadow-Lantern-41"
INVALID_VALUE = "The entered value is invalid."  # flowErrors.value_invalid_error, en, 2.7.0
VERIFICATION_SUBJECT = "{code} is your code to confirm your email address"
LOGIN_SUBJECT = "{code} is your sign-in code for Hanko Authentication Service"


class HankoAuth:
    """``/elements/`` and its ``<hanko-auth>``, driven the way a person would."""

    def __init__(self, page: Page, traffic: Traffic, base_url: str) -> None:
        self.page = page
        self.traffic = traffic
        self.base_url = base_url
        self.element: Locator = page.locator("hanko-auth")
        self.signed_in: Locator = page.locator("#signed-in")

    # -- navigation ----------------------------------------------------------------------------
    def open(self) -> None:
        """Load the page; return once ``<hanko-auth>`` has started its login flow."""
        self.page.goto(f"{self.base_url}/elements/", wait_until="domcontentloaded")
        self.wait_for_new_flow("login_init", before=0)

    def wait_for_new_flow(self, first_state: str, before: int) -> None:
        """Wait for the first page of a flow the element has just started.

        The elements announce the first state of a new flow twice, the second time 500 ms after
        the first (client-contract.md §5); a click before that would be overwritten by the
        stale page, so wait for both announcements instead of sleeping.
        """
        wait_for_state_events(self.page, first_state, before + 2)

    def wait_for_state(self, name: str, before: int) -> None:
        wait_for_state_events(self.page, name, before + 1)

    def events(self, name: str) -> int:
        return count_state_events(self.page, name)

    def headline(self) -> Locator:
        return self.element.locator("h1")

    def button(self, name: str) -> Locator:
        return self.element.get_by_role("button", name=name, exact=True)

    # -- steps ---------------------------------------------------------------------------------
    def switch_to_registration(self) -> None:
        before = self.events("registration_init")
        self.button("Create account").click()
        self.wait_for_new_flow("registration_init", before)
        expect(self.headline()).to_have_text("Create account")

    def submit_email(self, email: str, then: str) -> None:
        before = self.events(then)
        self.element.get_by_role("textbox", name="Email").fill(email)
        self.button("Continue").click()
        self.wait_for_state(then, before)

    def choose(self, method: str, then: str) -> None:
        expect(self.headline()).to_have_text("Select login method")
        before = self.events(then)
        self.button(method).click()
        self.wait_for_state(then, before)

    def enter_passcode(self, email: str, code: str, then: str) -> None:
        expect(self.headline()).to_have_text("Enter passcode")
        expect(self.element.get_by_text(email, exact=True)).to_be_visible()
        before = self.events(then)
        for index, digit in enumerate(code):  # the sixth digit submits the form
            self.element.locator(f"input[name=passcode{index}]").fill(digit)
        self.wait_for_state(then, before)

    def set_new_password(self, password: str) -> None:
        expect(self.headline()).to_have_text("Set new password")
        before = self.events("success")
        self.element.get_by_label("New password", exact=True).fill(password)
        self.button("Continue").click()
        self.wait_for_state("success", before)

    def enter_password(self, password: str) -> FlowCall:
        """Type the password and press "Sign in"; returns the ``password_login`` call."""
        expect(self.headline()).to_have_text("Enter password")
        field = self.element.get_by_label("Password", exact=True)
        field.fill(password)
        with self.page.expect_response(lambda r: "action=password_login" in r.url) as answer:
            self.button("Sign in").click()
        response = answer.value
        return FlowCall.of(response.request)

    def log_out(self, then: str) -> None:
        """Press the page's "Log out" button; <hanko-auth> starts a new ``then`` flow."""
        before = self.events(then)
        with self.page.expect_response(lambda r: r.url.endswith("/logout")) as answer:
            self.page.get_by_role("button", name="Log out").click()
        assert answer.value.status == 204, answer.value.status
        assert answer.value.request.post_data is None  # hanko.logout() sends no body
        self.wait_for_new_flow(then, before)
        expect(self.signed_in).to_be_hidden()
        expect(self.element).to_be_visible()

    # -- what the browser holds ----------------------------------------------------------------
    def session_cookie(self) -> dict[str, Any] | None:
        return session_cookie(self.page)

    def fetch_json(self, path: str) -> tuple[int, Any]:
        return fetch_json(self.page, path)


# --- helpers ------------------------------------------------------------------------------------


def assert_signed_in(auth: HankoAuth, email: str, amr: list[str]) -> dict[str, Any]:
    """The page, the cookie, the session's claims, ``/protected/`` and ``/api/whoami`` agree."""
    expect(auth.signed_in).to_be_visible()
    expect(auth.signed_in).to_contain_text(f"Signed in as {email}.")
    expect(auth.element).to_be_hidden()

    cookie = auth.session_cookie()
    assert cookie is not None, "no hanko cookie after the session was created"
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]
    assert cookie["value"].count(".") == 2  # a JWT
    assert cookie["expires"] > time.time() + 11 * 3600  # persistent, 12 h by default

    status, validation = auth.fetch_json("/sessions/validate")
    assert status == 200 and validation["is_valid"] is True, validation
    claims = validation["claims"]
    assert claims["email"]["address"] == email and claims["email"]["is_verified"] is True
    assert claims["amr"] == amr

    status, whoami = auth.fetch_json("/api/whoami")
    assert status == 200, whoami
    assert whoami["email"] == email
    assert whoami["user_id"] == claims["subject"] == validation["user_id"]
    assert whoami["session_id"] == claims["session_id"]
    assert whoami["amr"] == amr

    response = auth.page.goto(f"{auth.base_url}/protected/")
    assert response is not None and response.status == 200
    expect(auth.page.get_by_role("heading", name="Protected page")).to_be_visible()
    expect(auth.page.get_by_role("main")).to_contain_text(email)
    return claims


def assert_signed_out(auth: HankoAuth) -> None:
    assert auth.session_cookie() is None, "the hanko cookie survived the logout"
    status, validation = auth.fetch_json("/sessions/validate")
    assert (status, validation) == (200, {"is_valid": False})
    status, body = auth.fetch_json("/api/whoami")
    assert status == 401, body
    # login_required sends a person without a session to the sign-in page.
    response = auth.page.goto(f"{auth.base_url}/protected/")
    assert response is not None and response.status == 200
    redirect = response.request.redirected_from
    assert redirect is not None and redirect.response() is not None
    assert redirect.response().status == 302
    assert auth.page.url == f"{auth.base_url}/?flow=login&next=/protected/"
    expect(auth.page.locator("section[data-state]")).to_have_attribute("data-state", "login_init")
    # The page posts its preflight by script and loads /webauthn.js again for passkey autofill;
    # let it finish loading so the next navigation aborts nothing.
    auth.page.wait_for_load_state("load")


def steps(calls: list[FlowCall]) -> list[tuple[str, str | None, int, str]]:
    return [call.step for call in calls]


def action_body(calls: list[FlowCall], action: str) -> dict[str, Any]:
    matching = [c for c in calls if c.action == action]
    assert len(matching) == 1, [c.summary for c in calls]
    body = json.loads(matching[0].body or "null")
    assert set(body) == {"input_data", "csrf_token"}
    return body["input_data"]


# --- the journey --------------------------------------------------------------------------------


def test_sign_up_log_out_and_log_in_by_passcode_and_password(
    mailbox, browser_page, live_server, email_auth_settings
):
    page, traffic = browser_page
    auth = HankoAuth(page, traffic, live_server.url)
    email = f"elements-{uuid.uuid4().hex[:12]}@example.com"

    # 1. Sign up by passcode, with a password. ------------------------------------------------
    auth.open()
    expect(auth.headline()).to_have_text("Sign in")  # 2.7.0's login page, whatever it offers
    expect(auth.signed_in).to_be_hidden()
    mark = traffic.mark()
    auth.switch_to_registration()
    auth.submit_email(email, then="passcode_confirmation")
    screenshot(page, "elements-1-passcode")
    code = mailbox.code(email, VERIFICATION_SUBJECT)
    auth.enter_passcode(email, code, then="password_creation")
    screenshot(page, "elements-1-password")
    auth.set_new_password(PASSWORD)
    screenshot(page, "elements-1-signed-in")

    calls = traffic.flow_calls(since=mark)
    assert steps(calls) == [
        ("/registration", None, 200, "preflight"),
        ("/registration", "register_client_capabilities", 200, "registration_init"),
        ("/registration", "register_login_identifier", 200, "passcode_confirmation"),
        ("/registration", "verify_passcode", 200, "password_creation"),
        ("/registration", "register_password", 200, "success"),
    ]
    assert action_body(calls, "register_login_identifier")["email"] == email
    assert action_body(calls, "verify_passcode") == {"code": code}
    assert action_body(calls, "register_password") == {"new_password": PASSWORD}
    success = calls[-1].state["payload"]
    assert success["claims"]["email"]["address"] == email
    assert success["user"]["emails"][0]["address"] == email
    wait_until_sent(email, ["email_verification"])

    claims = assert_signed_in(auth, email, amr=["otp", "pwd"])
    user_id = claims["subject"]
    screenshot(page, "elements-1-protected")

    # 2. Log out. The page starts signed in again: it asks the server (validateSession). -------
    auth.open()
    expect(auth.signed_in).to_contain_text(f"Signed in as {email}.")
    expect(auth.element).to_be_hidden()
    auth.log_out(then="login_init")
    screenshot(page, "elements-2-logged-out")
    expect(auth.headline()).to_have_text("Sign in")
    assert_signed_out(auth)

    # 3. Log in by passcode. -------------------------------------------------------------------
    auth.open()
    mark = traffic.mark()
    auth.submit_email(email, then="login_method_chooser")
    screenshot(page, "elements-3-chooser")
    auth.choose("Passcode", then="passcode_confirmation")
    code = mailbox.code(email, LOGIN_SUBJECT)
    auth.enter_passcode(email, code, then="success")
    calls = traffic.flow_calls(since=mark)
    assert steps(calls) == [
        ("/login", "continue_with_login_identifier", 200, "login_method_chooser"),
        ("/login", "continue_to_passcode_confirmation", 200, "passcode_confirmation"),
        ("/login", "verify_passcode", 200, "success"),
    ]
    assert action_body(calls, "continue_with_login_identifier") == {"email": email}
    assert action_body(calls, "verify_passcode") == {"code": code}
    assert calls[-1].state["payload"]["claims"]["subject"] == user_id
    wait_until_sent(email, ["email_verification", "login"])
    assert_signed_in(auth, email, amr=["otp"])

    # 4. Log out; log in with the password: a wrong one first. --------------------------------
    auth.open()
    auth.log_out(then="login_init")
    assert auth.session_cookie() is None
    mark = traffic.mark()
    auth.submit_email(email, then="login_method_chooser")
    auth.choose("Password", then="login_password")
    wrong = auth.enter_password(WRONG_PASSWORD)
    assert wrong.step == ("/login", "password_login", 400, "login_password")
    assert wrong.state["error"]["code"] == "form_data_invalid_error"
    password_input = wrong.state["actions"]["password_login"]["inputs"]["password"]
    assert password_input["error"]["code"] == "value_invalid_error"
    error_box = auth.element.locator("[part~=error]")
    expect(error_box).to_be_visible()
    expect(error_box).to_have_text(INVALID_VALUE)
    expect(auth.headline()).to_have_text("Enter password")
    expect(auth.signed_in).to_be_hidden()
    assert auth.session_cookie() is None
    screenshot(page, "elements-4-wrong-password")

    before = auth.events("success")
    right = auth.enter_password(PASSWORD)
    assert right.step == ("/login", "password_login", 200, "success")
    auth.wait_for_state("success", before)
    calls = traffic.flow_calls(since=mark)
    assert steps(calls) == [
        ("/login", "continue_with_login_identifier", 200, "login_method_chooser"),
        ("/login", "continue_to_password_login", 200, "login_password"),
        ("/login", "password_login", 400, "login_password"),
        ("/login", "password_login", 200, "success"),
    ]
    assert json.loads(calls[-1].body or "null")["input_data"] == {"password": PASSWORD}
    assert right.state["payload"]["claims"]["subject"] == user_id
    screenshot(page, "elements-4-signed-in")
    assert_signed_in(auth, email, amr=["pwd"])

    # Emails: the two codes, each sent once by the worker; nothing for the password login.
    assert len(mailbox.sink.messages_to(email)) == 2
    wait_until_sent(email, ["email_verification", "login"])

    # The whole journey: no 5xx, no page errors; the only 4xx are the wrong password's 400 and
    # /api/whoami's 401 after the first logout.
    traffic.assert_healthy(expected_4xx=2)
    events = state_events(page)
    assert "error" not in events, events
