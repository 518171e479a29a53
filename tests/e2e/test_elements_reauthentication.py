"""Re-authentication with Hanko's own ``<hanko-profile>`` (@teamhanko/hanko-elements 2.7.0,
unchanged) on ``/elements/profile/``, in Debian's Chromium (issue 12; beyond Hanko, whose
profile never asks).

The person signs in with their password, their session's sign-in is made older than
``PROFILE.REAUTHENTICATION_MAX_AGE``, and a password change first shows the element's own
"Enter password" page (Hanko's ``login_password`` state, rendered by name). After the current
password the element is back on the profile; the person saves the new password again and it
is changed. "Back" on that page returns to the profile without the change. With a passkey the
element's own ``login_passkey`` auto-step asks the authenticator instead.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.e2e.support import FlowCall, outside_event_loop, screenshot
from tests.e2e.test_elements_auth import PASSWORD, HankoAuth
from tests.e2e.test_elements_passkeys_mfa import PLATFORM_AUTHENTICATOR, Authenticators

try:
    from playwright.sync_api import Page, expect
except ImportError:  # reported by the ``browser_page`` fixture (conftest.py)
    expect = None

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Amber-Orchard-Beacon-58"


def make_account(email: str) -> str:
    def make() -> str:
        from hankoflow.services import accounts, passwords

        account = accounts.create(
            uuid.uuid4(),
            email=email,
            email_verified=True,
            username=None,
            password_hash=passwords.hash_password(PASSWORD),
        )
        return str(account.id)

    return outside_event_loop(make)


def age_sessions(account_id: str) -> None:
    """The sessions' last authentication an hour ago (past the 600 s window)."""

    def update() -> None:
        from hankoflow import clock
        from hankoflow.models import Session

        an_hour_ago = clock.now() - timedelta(hours=1)
        Session.objects.filter(account_id=account_id).update(authenticated_at=an_hour_ago)

    outside_event_loop(update)


def password_is(account_id: str, password: str) -> bool:
    def check() -> bool:
        from hankoflow.models import Account

        return Account.objects.get(id=account_id).user.check_password(password)

    return outside_event_loop(check)


def save_new_password(page: Page, element, password: str) -> FlowCall:
    """Open "Change password", type ``password`` and press "Save"."""
    element.locator("label", has_text="Change password").first.click()
    field = element.get_by_placeholder("New password")
    field.fill(password)
    # ``has`` is relative to the form: a page-level locator of the field.
    form = element.locator("form", has=page.get_by_placeholder("New password"))
    save = form.get_by_role("button", name="Save")
    with page.expect_response(lambda r: "action=password_update%40" in r.url) as answer:
        save.click()
    return FlowCall.of(answer.value.request)


def expect_password_page(element) -> None:
    """The element shows its "Enter password" page (the profile's headlines are gone)."""
    expect(element.locator("h1")).to_have_count(1)
    expect(element.locator("h1")).to_have_text("Enter password")


def test_hanko_profile_asks_for_the_password_before_a_change_in_an_old_session(
    browser_page, loopback_server, http_settings
) -> None:
    page, traffic = browser_page
    email = f"reauth-{uuid.uuid4().hex[:8]}@example.com"
    account_id = make_account(email)
    profile = page.locator("hanko-profile")
    auth = HankoAuth(page, traffic, loopback_server.url)

    page.goto(f"{loopback_server.url}/elements/profile/", wait_until="domcontentloaded")
    auth.wait_for_new_flow("login_init", before=0)
    auth.submit_email(email, "login_method_chooser")
    auth.choose("Password", "login_password")
    signed_in = auth.enter_password(PASSWORD)
    assert signed_in.status == 200, signed_in.state
    if signed_in.state["name"] == "onboarding_create_passkey":
        auth.button("Skip").click()
    expect(profile).to_be_visible()
    expect(profile.locator("h1", has_text="Emails")).to_be_visible()
    age_sessions(account_id)

    # The change first asks for the current password, on the element's own page.
    asked = save_new_password(page, profile, NEW_PASSWORD)
    assert (asked.status, asked.state["name"]) == (200, "login_password"), asked.state
    expect_password_page(profile)
    screenshot(page, "reauthentication-1-enter-password")
    assert password_is(account_id, PASSWORD)

    # "Back" returns to the profile without the change; asking again shows the page again.
    with page.expect_response(lambda r: "action=back%40" in r.url) as answer:
        profile.get_by_role("button", name="Back", exact=True).click()
    assert FlowCall.of(answer.value.request).state["name"] == "profile_init"
    expect(profile.locator("h1", has_text="Emails")).to_be_visible()
    asked = save_new_password(page, profile, NEW_PASSWORD)
    assert asked.state["name"] == "login_password", asked.state
    expect_password_page(profile)

    profile.get_by_label("Password", exact=True).fill(PASSWORD)
    with page.expect_response(lambda r: "action=password_login%40" in r.url) as answer:
        profile.get_by_role("button", name="Sign in", exact=True).click()
    proved = FlowCall.of(answer.value.request)
    assert (proved.status, proved.state["name"]) == (200, "profile_init"), proved.state
    expect(profile.locator("h1", has_text="Emails")).to_be_visible()

    # Within the window now: the repeated change goes through.
    screenshot(page, "reauthentication-2-back-on-profile")
    changed = save_new_password(page, profile, NEW_PASSWORD)  # a new page: closed again
    assert (changed.status, changed.state["name"]) == (200, "profile_init"), changed.state
    assert password_is(account_id, NEW_PASSWORD)
    screenshot(page, "reauthentication-3-changed")
    traffic.assert_healthy()


def test_hanko_profile_asks_for_the_passkey_with_its_own_auto_step(
    browser_page, loopback_server, http_settings
) -> None:
    page, traffic = browser_page
    laptop = Authenticators(page).add(PLATFORM_AUTHENTICATOR)
    email = f"reauth-passkey-{uuid.uuid4().hex[:8]}@example.com"
    account_id = make_account(email)
    profile = page.locator("hanko-profile")
    auth = HankoAuth(page, traffic, loopback_server.url)

    # Sign in with the password and create a passkey when the login offers one.
    page.goto(f"{loopback_server.url}/elements/profile/", wait_until="domcontentloaded")
    auth.wait_for_new_flow("login_init", before=0)
    auth.submit_email(email, "login_method_chooser")
    auth.choose("Password", "login_password")
    offered = auth.enter_password(PASSWORD)
    assert offered.state["name"] == "onboarding_create_passkey", offered.state
    before = auth.events("success")
    auth.button("Create a passkey").click()
    auth.wait_for_state("success", before)
    expect(profile.locator("h1", has_text="Emails")).to_be_visible()
    assert len(laptop.credentials()) == 1
    age_sessions(account_id)

    # The change goes to login_passkey; the element asks the authenticator by itself.
    with page.expect_response(
        lambda r: "action=webauthn_verify_assertion_response%40" in r.url
    ) as answer:
        asked = save_new_password(page, profile, NEW_PASSWORD)
        assert (asked.status, asked.state["name"]) == (200, "login_passkey"), asked.state
    proved = FlowCall.of(answer.value.request)
    assert (proved.status, proved.state["name"]) == (200, "profile_init"), proved.state
    expect(profile.locator("h1", has_text="Emails")).to_be_visible()
    assert password_is(account_id, PASSWORD)

    changed = save_new_password(page, profile, NEW_PASSWORD)
    assert (changed.status, changed.state["name"]) == (200, "profile_init"), changed.state
    assert password_is(account_id, NEW_PASSWORD)
    traffic.assert_healthy()
