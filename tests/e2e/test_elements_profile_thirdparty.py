"""Connected accounts in Hanko's own ``<hanko-profile>`` (2.7.0): the person connects the local
OpenID Connect provider (tests/thirdparty/provider) from "Connect account", signs in there,
consents, comes back to the profile with the account listed, and deletes the connection
(flow-api.md §4.3.2 #21, #22, §4.3.3)."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.e2e.support import TIMEOUT_MS, outside_event_loop, screenshot
from tests.e2e.test_elements_auth import PASSWORD
from tests.e2e.test_elements_profile import HankoProfile, make_account
from tests.e2e.test_elements_thirdparty import (  # noqa: F401 - fixtures
    e2e_provider,
    thirdparty_settings,
)
from tests.thirdparty.provider.serve import PASSWORD as PROVIDER_PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # reported by the ``browser_page`` fixture (conftest.py)
    expect = None

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def identities_of(account_id: str) -> list[str]:
    def read() -> list[str]:
        from hankoflow.models import Identity

        return [i.provider_id for i in Identity.objects.filter(account_id=account_id)]

    return outside_event_loop(read)


def test_hanko_profile_connects_and_disconnects_a_provider(
    browser_page,
    loopback_server,
    thirdparty_settings,  # noqa: F811
) -> None:
    page, traffic = browser_page
    email = f"connect-{uuid.uuid4().hex[:8]}@example.com"
    account_id = make_account(email)
    profile = HankoProfile(page, traffic, loopback_server.url)
    profile.open()
    profile.sign_in(email, PASSWORD, before=0)
    expect(profile.headline("Connected accounts")).to_be_visible()

    # Connect: "Connect account" lists the provider; the browser goes there and comes back.
    item = profile.open_item("Connect account")
    item.get_by_role("button", name="Local").click()
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/login/"), timeout=TIMEOUT_MS)
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password").fill(PROVIDER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/o/authorize/"), timeout=TIMEOUT_MS)
    page.locator("input[name=allow]").click()

    # Back on the profile: the element exchanges the token in its thirdparty state.
    expect(profile.item("Local")).to_be_visible(timeout=TIMEOUT_MS)
    assert identities_of(account_id) == ["custom_local"]
    screenshot(page, "profile-elements-thirdparty-connected")

    # Disconnect: "Delete connection".
    item = profile.open_item("Local")
    call = profile.run(
        "disconnect_thirdparty_oauth_provider", profile.dangerous_link(item, "Delete")
    )
    assert call.status == 200 and call.state["name"] == "profile_init", call.state
    assert "identities" not in call.state["payload"]["user"]
    assert identities_of(account_id) == []
    screenshot(page, "profile-elements-thirdparty-disconnected")
