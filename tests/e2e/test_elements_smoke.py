"""Hanko's own ``<hanko-auth>`` (@teamhanko/hanko-elements 2.7.0) drives this server in Chromium.

A smoke test of the first states only: the page ``/elements/`` loads the unchanged bundle, the
element starts a login flow (``POST /login`` -> ``preflight``), runs the ``preflight`` auto-step
(``register_client_capabilities`` -> ``login_init``) and renders its login page in its shadow
DOM. What the elements send and expect is in ``shared/spec/client-contract.md`` §1, §5 and §9.

The browser, its flags, the traffic record and skip-or-fail are in ``support.py`` and
``conftest.py`` of this package: Debian's Chromium, no browser downloads; without Chromium, the
bundle or Playwright the tests skip, except under ``CI=true``, where they fail. Screenshots go to
``$TMPDIR/hankoflow-e2e/``.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.e2e.support import TIMEOUT_MS, UUID, FlowCall, screenshot

try:
    from playwright.sync_api import Page, Response, expect
except ImportError:  # reported by the ``browser_page`` fixture (tests/e2e/conftest.py)
    expect = None

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


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
        # A function, not an expression: the page's CSP forbids eval, which Playwright would use.
        "() => window.__hankoStateEvents.filter((name) => name === 'login_init').length >= 2",
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


def test_hanko_auth_starts_a_login_flow_and_renders_login_init(browser_page, live_server, settings):
    """Default config: ``login_init`` offers the email identifier, and the element shows it."""
    page, traffic = browser_page
    # Only what http:// needs; everything else is the demo project's configuration.
    settings.HANKOFLOW = {**settings.HANKOFLOW, "SESSION": {"COOKIE": {"SECURE": False}}}

    _open_elements_page(page, live_server)
    screenshot(page, "login_init-default")

    calls = traffic.flow_calls()
    _, login_init = _assert_start_sequence(calls)
    assert len(calls) == 2, [c.summary for c in calls]  # and nothing after it
    # Retention is "persistent" by default, so there is nothing to choose (§4.0.2.1).
    assert "remember_me" not in login_init.state["actions"]

    # What <hanko-auth> 2.7.0 renders for login_init: the headline "Sign in" (its login page
    # always uses headlines.signIn), an "Email" field for continue_with_login_identifier (it
    # has an ``email`` input) with "Continue", and the "Create account" link, which
    # <hanko-auth> always shows (client-contract.md §5); no checkbox, and its error box
    # stays hidden.
    auth = page.locator("hanko-auth")
    expect(auth.locator("h1")).to_have_text("Sign in")
    expect(auth.get_by_role("textbox", name="Email")).to_be_visible()
    expect(auth.get_by_role("button", name="Continue")).to_be_visible()
    expect(auth.get_by_role("button", name="Create account")).to_be_visible()
    expect(auth.locator("[part~=error]")).to_be_hidden()
    expect(auth.get_by_role("checkbox")).to_have_count(0)

    traffic.assert_clean()


def test_hanko_auth_offers_stay_signed_in_when_retention_is_prompt(
    browser_page, live_server, settings
):
    """``SESSION.COOKIE.RETENTION = "prompt"`` puts ``remember_me`` on ``login_init``.

    hanko-elements 2.7.0 renders that action as a "Stay signed in" checkbox; ticking it runs
    the action (``POST /login?action=remember_me%40<flow>``), and the flow stays in
    ``login_init``.
    """
    page, traffic = browser_page
    settings.HANKOFLOW = {"SESSION": {"COOKIE": {"RETENTION": "prompt", "SECURE": False}}}

    _open_elements_page(page, live_server)
    screenshot(page, "login_init-remember-me")

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
    screenshot(page, "login_init-remember-me-ticked")

    calls = traffic.flow_calls()
    assert [c.summary for c in calls[2:]] == [("POST", remember_me["href"], 200, "login_init")]
    assert json.loads(calls[2].body or "null") == {
        "input_data": {"remember_me": True},
        "csrf_token": login_init.state["csrf_token"],
    }
    assert "remember_me" in calls[2].state["actions"]  # still on offer after choosing
    traffic.assert_clean()
