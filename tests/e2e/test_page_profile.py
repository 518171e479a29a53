"""The profile on the server-rendered page (``/?flow=profile``) in Chromium, no Hanko elements.

A shorter journey than ``test_elements_profile.py``, through the page's own forms:

1. signed out, ``/?flow=profile`` says so and its "Sign in" link carries ``next`` back to the
   profile; the person signs in with email and password and the success page's Continue leads
   to the profile (``webauthn.js`` answers its ``preflight``);
2. an email: add a second address, confirm it with the passcode, delete it again (one form per
   address, only where the state offers it);
3. a passkey: create it with Chromium's virtual authenticator (``webauthn.js`` on
   ``webauthn_credential_verification``), rename it, delete it;
4. a session: another device's session is listed and signed out; the current one is marked.

The page's Content-Security-Policy holds throughout (no violation reported by Chromium), and
every form also carries Django's CSRF token. Passcodes come from Django's ``mail.outbox``.
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from hankoflow.testing.plugin import last_passcode
from tests.e2e.support import SCREENSHOTS
from tests.e2e.test_elements_auth import PASSWORD
from tests.e2e.test_elements_profile import (
    credentials_of,
    emails_of,
    make_account,
    sessions_of,
    sign_in_elsewhere,
)
from tests.e2e.test_page_passkeys import (  # noqa: F401 (fixtures)
    Browser,
    _submit,
    _wait_for_state,
    browser,
    webauthn_server,
)

try:
    from playwright.sync_api import Locator, Page, expect
except ImportError:  # reported by the ``browser`` fixture
    expect = None

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"page-profile-{name}.png"), full_page=True)


def _item(page: Page, text: str) -> Locator:
    """An entry of the profile's lists (an address, a passkey, a session)."""
    return page.locator("li.item", has_text=text)


def _submit_in(item: Locator, action: str) -> None:
    with item.page.expect_navigation():
        item.locator(f'form[data-action="{action}"] button[type=submit]').click()


@pytest.fixture
def account_with_password(settings) -> tuple[str, str]:
    email = f"page-{uuid.uuid4().hex[:8]}@example.com"
    # The account exists before the browser opens; created with the project's own services.
    return email, make_account(email)


def test_a_person_manages_their_account_on_the_page(
    browser: Browser,  # noqa: F811 (the fixture imported above)
    mailoutbox,
    account_with_password,
) -> None:
    tab, page = browser, browser.page
    email, account_id = account_with_password
    origin = tab.origin

    # 1. Signed out: the page explains and links to sign-in with next = the profile.
    response = page.goto(f"{origin}/?flow=profile")
    assert response is not None and response.status == 401
    expect(page.get_by_role("heading", name="You’re not signed in")).to_be_visible()
    sign_in = page.get_by_role("link", name="Sign in").last
    query = parse_qs(urlsplit(sign_in.get_attribute("href")).query)
    assert query["flow"] == ["login"] and query["next"] == ["/?flow=profile"]
    sign_in.click()
    _wait_for_state(page, "login_init")
    page.fill("input[name=email]", email)
    _submit(page, "continue_with_login_identifier")
    _wait_for_state(page, "login_method_chooser")
    _submit(page, "continue_to_password_login")
    _wait_for_state(page, "login_password")
    page.fill("input[name=password]", PASSWORD)
    _submit(page, "password_login")
    if page.locator("section[data-state]").get_attribute("data-state") != "success":
        _wait_for_state(page, "onboarding_create_passkey")
        _submit(page, "skip")
    _wait_for_state(page, "success")
    proceed = page.get_by_role("link", name="Continue")
    expect(proceed).to_have_attribute("href", "/?flow=profile")  # next, kept through sign-in
    with page.expect_navigation():
        proceed.click()
    _wait_for_state(page, "profile_init")  # after webauthn.js answered preflight
    expect(_item(page, email)).to_contain_text("Primary")
    expect(_item(page, "This session")).to_be_visible()
    _screenshot(page, "1-signed-in")

    # 2. An email: added, confirmed with its passcode, deleted.
    second = f"second-{uuid.uuid4().hex[:8]}@example.com"
    page.fill("form[data-action=email_create] input[name=email]", second)
    _submit(page, "email_create")
    _wait_for_state(page, "passcode_confirmation")
    page.fill("input[name=code]", last_passcode(mailoutbox, second))
    _submit(page, "verify_passcode")
    _wait_for_state(page, "profile_init")
    added = _item(page, second)
    expect(added).to_contain_text("Verified")
    assert (second, False, True) in emails_of(account_id)
    # The primary address offers neither "make primary" nor "delete"; the new one both.
    assert _item(page, email).locator("form").count() == 0
    expect(added.locator("form[data-action=email_set_primary]")).to_have_count(1)
    _submit_in(added, "email_delete")
    _wait_for_state(page, "profile_init")
    expect(_item(page, second)).to_have_count(0)
    assert emails_of(account_id) == [(email, True, True)]

    # 3. A passkey: created by webauthn.js, renamed, deleted.
    _submit(page, "webauthn_credential_create")
    _wait_for_state(page, "profile_init")  # webauthn_credential_verification ran by itself
    assert "webauthn_verify_attestation_response" in tab.actions_posted()
    assert len(tab.credentials()) == 1
    passkey = page.locator("[data-section=passkeys] li.item")
    expect(passkey).to_have_count(1)
    passkey.locator("input[name=passkey_name]").fill("Office desktop")
    _submit_in(passkey, "webauthn_credential_rename")
    _wait_for_state(page, "profile_init")
    expect(_item(page, "Office desktop")).to_be_visible()
    assert credentials_of(account_id) == ["Office desktop"]
    _submit_in(_item(page, "Office desktop"), "webauthn_credential_delete")
    _wait_for_state(page, "profile_init")
    expect(page.locator("[data-section=passkeys] li.item")).to_have_count(0)
    assert credentials_of(account_id) == []
    _screenshot(page, "2-passkeys")

    # 4. Another device's session: listed, then signed out from here.
    other = sign_in_elsewhere(account_id)
    page.goto(f"{origin}/?flow=profile")
    _wait_for_state(page, "profile_init")
    phone = _item(page, "Safari")
    expect(phone).to_be_visible()
    expect(phone.locator("form[data-action=session_delete] button")).to_have_attribute(
        "aria-label", "Sign out: iOS (Safari)"
    )
    assert _item(page, "This session").locator("form").count() == 0
    _submit_in(phone, "session_delete")
    _wait_for_state(page, "profile_init")
    expect(_item(page, "Safari")).to_have_count(0)
    assert other not in sessions_of(account_id) and len(sessions_of(account_id)) == 1
    _screenshot(page, "3-sessions")

    # Every form carried Django's CSRF token; the page's policy was never violated.
    assert all(post.get("csrfmiddlewaretoken") for post in tab.posts)
    tab.csp.assert_clean()
    # Chromium logs the signed-out page's 401 (the JSON API's status, kept by the page).
    assert len(tab.errors) == 1 and "status of 401" in tab.errors[0], tab.errors
