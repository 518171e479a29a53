"""The server-rendered page's provider button (``hankoflow/web/thirdparty.py``): "Sign in with
Local" on ``/?flow=login``, the local OpenID Connect provider's sign-in and consent pages
(tests/thirdparty/provider), and back on the page, signed in — in Debian's Chromium, with the
page's Content-Security-Policy in force."""

from __future__ import annotations

import re

import pytest

from hankoflow.models import Identity
from tests.e2e.support import TIMEOUT_MS, outside_event_loop, screenshot, session_cookie
from tests.e2e.test_elements_thirdparty import (  # noqa: F401 - fixtures
    e2e_provider,
    thirdparty_settings,
)
from tests.thirdparty.provider.serve import PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # reported by the ``browser_page`` fixture (conftest.py)
    expect = None

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_page_provider_button_signs_in(
    browser_page,
    loopback_server,
    thirdparty_settings,  # noqa: F811
) -> None:
    page, _traffic = browser_page
    page.goto(f"{loopback_server.url}/?flow=login&next=/protected/", wait_until="load")
    expect(page.locator('[data-state="login_init"]')).to_be_visible()
    page.get_by_role("button", name="Sign in with Local").click()

    # The page moves on to the provider (meta refresh: the form stays on 'self').
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/login/"), timeout=TIMEOUT_MS)
    page.get_by_label("Username").fill("dave")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/o/authorize/"), timeout=TIMEOUT_MS)
    page.locator("input[name=allow]").click()

    # Back on the page: the token was exchanged in the same login flow.
    expect(page.locator('[data-state="success"]')).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator("#state-heading")).to_have_text("You’re signed in")
    assert session_cookie(page)
    screenshot(page, "page-thirdparty-signed-in")
    page.get_by_role("link", name="Continue").click()
    page.wait_for_url(re.compile(r"/protected/$"), timeout=TIMEOUT_MS)
    owner = outside_event_loop(lambda: Identity.objects.get().account.emails.get().address)
    assert owner == "dave@example.com"


def test_page_profile_disconnects_and_connects_the_provider(
    browser_page,
    loopback_server,
    thirdparty_settings,  # noqa: F811
) -> None:
    page, _traffic = browser_page
    base = loopback_server.url
    page.goto(f"{base}/?flow=login", wait_until="load")
    page.get_by_role("button", name="Sign in with Local").click()
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/login/"), timeout=TIMEOUT_MS)
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[name=allow]").click()
    expect(page.locator('[data-state="success"]')).to_be_visible(timeout=TIMEOUT_MS)

    # The account page lists the provider; disconnecting leaves the email passcode as a way in.
    page.goto(f"{base}/?flow=profile", wait_until="load")
    section = page.locator("#section-connected_accounts")
    expect(section.locator(".item-title")).to_have_text("Local")
    screenshot(page, "page-thirdparty-profile-connected")
    section.get_by_role("button", name="Disconnect: Local").click()
    expect(section).to_contain_text("You have no connected accounts.")
    assert outside_event_loop(lambda: Identity.objects.count()) == 0

    # Connecting it again goes through the provider (still signed in there) and back here.
    section.get_by_role("button", name="Connect Local").click()
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/o/authorize/"), timeout=TIMEOUT_MS)
    page.locator("input[name=allow]").click()
    expect(page.locator('[data-state="profile_init"]')).to_be_visible(timeout=TIMEOUT_MS)
    expect(section.locator(".item-title")).to_have_text("Local")
    assert outside_event_loop(lambda: Identity.objects.get().provider_id) == "custom_local"
