"""Hanko's ``<hanko-auth>`` (2.7.0) signs in with a third-party provider: the person clicks
"Continue with Local", signs in at a real OpenID Connect provider on 127.0.0.1
(tests/thirdparty/provider), consents, and comes back signed in (platform.md §9.2,
client-contract.md §1 ``thirdparty``)."""

from __future__ import annotations

import re

import pytest

from hankoflow.models import Identity
from tests.e2e.support import (
    TIMEOUT_MS,
    outside_event_loop,
    screenshot,
    wait_for_state_events,
)
from tests.thirdparty.conftest import provider_settings, run_provider
from tests.thirdparty.provider.serve import PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # reported by the ``browser_page`` fixture (tests/e2e/conftest.py)
    expect = None

# flowErrors.third_party_access_denied, en, 2.7.0
ACCESS_DENIED = (
    "Access denied. The request was cancelled by the user or the provider has denied access for "
    "other reasons."
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def e2e_provider(live_server, tmp_path_factory):
    yield from run_provider(tmp_path_factory, f"{live_server.url}/thirdparty/callback")


@pytest.fixture
def thirdparty_settings(http_settings, settings, e2e_provider, loopback_server):
    base = loopback_server.url
    third_party = provider_settings(e2e_provider)["THIRD_PARTY"]
    settings.HANKOFLOW = {
        **http_settings,
        "THIRD_PARTY": {
            **third_party,
            "REDIRECT_URL": f"{base}/thirdparty/callback",
            "ALLOWED_REDIRECT_URLS": [f"{base}/**"],
            "ERROR_REDIRECT_URL": f"{base}/elements/",
        },
    }


def _to_consent_page(page, base_url: str, username: str) -> None:
    """Click "Continue with Local" and sign in at the provider, up to its consent page."""
    page.goto(f"{base_url}/elements/", wait_until="domcontentloaded")
    wait_for_state_events(page, "login_init", 2)
    page.locator("hanko-auth").get_by_role("button", name="Continue with Local").click()
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/login/"), timeout=TIMEOUT_MS)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/o/authorize/"), timeout=TIMEOUT_MS)


def test_continue_with_provider_signs_in(browser_page, loopback_server, thirdparty_settings):
    page, _traffic = browser_page
    _to_consent_page(page, loopback_server.url, "alice")
    page.locator("input[name=allow]").click()

    # Back at the app: the element exchanges the token and the page shows who is signed in.
    signed_in = page.locator("#signed-in")
    expect(signed_in).to_be_visible(timeout=TIMEOUT_MS)
    expect(signed_in).to_contain_text("Signed in as alice@example.com.")
    screenshot(page, "elements-thirdparty-signed-in")
    provider = outside_event_loop(lambda: Identity.objects.get().provider_id)
    assert provider == "custom_local"
    assert "hanko_token" not in page.url  # the elements remove it from the address bar


def test_cancelled_consent_shows_access_denied(browser_page, loopback_server, thirdparty_settings):
    page, _traffic = browser_page
    _to_consent_page(page, loopback_server.url, "bob")
    page.locator("input[value=Cancel]").click()
    element = page.locator("hanko-auth")
    expect(element.get_by_text(ACCESS_DENIED)).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator("#signed-in")).to_be_hidden()
    screenshot(page, "elements-thirdparty-access-denied")
    assert outside_event_loop(lambda: Identity.objects.count()) == 0
