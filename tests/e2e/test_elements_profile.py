"""The profile with Hanko's own ``<hanko-profile>`` (@teamhanko/hanko-elements 2.7.0, unchanged)
on ``/elements/profile/``, in Debian's Chromium (issue 12).

One person's journey through everything the element offers, on Hanko's defaults plus
``ACCOUNT.ALLOW_DELETION``:

1. signed out, the page shows ``<hanko-auth>``; the person signs in with email and password and
   the page swaps it for ``<hanko-profile>``, which starts its profile flow;
2. emails: add a second address and confirm it with the passcode from the email, make it the
   primary address, delete the first one;
3. passkeys: create one (Chromium's virtual platform authenticator), rename it, delete it;
4. sessions: another session of the same person (another device) is listed and revoked;
5. password: change it, log out, sign in with the new one (the old one is refused);
6. delete the account (the element's confirm page): the element reports it, the page is back at
   ``<hanko-auth>``, the account and its sessions are gone.

Every step is checked in the element (what the person sees), on the wire (the Flow API calls
the element made) and in the database. The element runs most profile actions without a state
event (``dispatchAfterStateChangeEvent: false``), so the tests wait for the action's response
and then for what the element shows.

Passcodes are read from Django's ``mail.outbox`` (the live server runs in this process, emails
are sent eagerly), so the test runs on SQLite as well as on PostgreSQL.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from hankoflow.testing.plugin import last_passcode
from tests.e2e.support import (
    FlowCall,
    Traffic,
    outside_event_loop,
    screenshot,
    session_cookie,
    wait_for_state_events,
)
from tests.e2e.test_elements_auth import PASSWORD, HankoAuth
from tests.e2e.test_elements_passkeys_mfa import PLATFORM_AUTHENTICATOR, Authenticators

try:
    from playwright.sync_api import Locator, Page, expect
except ImportError:  # reported by the ``browser_page`` fixture (conftest.py)
    expect = None

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Quiet-Harbor-Compass-77"
OTHER_DEVICE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Safari/604.1"


class HankoProfile:
    """``/elements/profile/``: its ``<hanko-auth>`` (signed out) and ``<hanko-profile>``."""

    def __init__(self, page: Page, traffic: Traffic, base_url: str) -> None:
        self.page = page
        self.traffic = traffic
        self.base_url = base_url
        self.auth = HankoAuth(page, traffic, base_url)
        self.element: Locator = page.locator("hanko-profile")

    def open(self) -> None:
        self.page.goto(f"{self.base_url}/elements/profile/", wait_until="domcontentloaded")

    def sign_in(self, email: str, password: str, *, before: int) -> None:
        """Sign in with ``<hanko-auth>`` (whose login flow is the one after the ``before``-th
        ``login_init``); skip the passkey the login offers afterwards."""
        auth = self.auth
        auth.wait_for_new_flow("login_init", before=before)
        auth.submit_email(email, "login_method_chooser")
        auth.choose("Password", "login_password")
        self.finish_sign_in(auth.enter_password(password))

    def finish_sign_in(self, call: FlowCall) -> None:
        assert call.status == 200, call.state
        if call.state["name"] == "onboarding_create_passkey":
            before = self.auth.events("success")
            self.auth.button("Skip").click()
            wait_for_state_events(self.page, "success", before + 1)
        self.wait_for_profile()

    def wait_for_profile(self) -> None:
        expect(self.element).to_be_visible()
        expect(self.headline("Emails")).to_be_visible()

    def headline(self, text: str) -> Locator:
        return self.element.locator("h1", has_text=text)

    def item(self, text: str) -> Locator:
        """An accordion item's label (an email, a passkey, a session, "Add email", ...)."""
        return self.element.locator("label", has_text=text)

    def open_item(self, text: str) -> Locator:
        """Open an accordion item; returns it (its label and content) to find its links in."""
        label = self.item(text).first
        label.click()
        return label.locator("xpath=..")

    def link(self, item: Locator, name: str) -> Locator:
        return item.get_by_role("button", name=name, exact=True)

    def dangerous_link(self, item: Locator, name: str) -> Locator:
        """A "dangerous" link asks "yes / no" first; returns the "yes"."""
        self.link(item, name).click()
        return self.link(item, "yes")

    def save_button(self, placeholder: str) -> Locator:
        """The "Save" button of the form whose field shows ``placeholder`` (closed accordion
        items hold forms with the same button)."""
        field = self.page.get_by_placeholder(placeholder)  # ``has`` is relative to the form
        return self.element.locator("form", has=field).get_by_role("button", name="Save")

    def run(self, action: str, click: Locator) -> FlowCall:
        """Click and return the ``/profile?action=<action>`` call it made."""
        with self.page.expect_response(lambda r: f"action={action}%40" in r.url) as answer:
            click.click()
        call = FlowCall.of(answer.value.request)
        assert call.path.startswith("/profile?"), call.path
        return call


# --- the database, from outside Playwright's event loop ------------------------------------------


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


def sign_in_elsewhere(account_id: str) -> str:
    """A session of the same person on another device; returns its id."""

    def issue() -> str:
        from django.test import RequestFactory

        from hankoflow.http.request import request_env
        from hankoflow.services import accounts, sessions

        phone = RequestFactory().post("/login", HTTP_USER_AGENT=OTHER_DEVICE)
        account = accounts.get(account_id)
        env = request_env(phone, session=None)
        issued = sessions.issue(account, amr=["pwd"], env=env, remember_me=None)
        return str(issued.session_id)

    return outside_event_loop(issue)


def emails_of(account_id: str) -> list[tuple[str, bool, bool]]:
    def read() -> list[tuple[str, bool, bool]]:
        from hankoflow.models import Email

        rows = Email.objects.filter(account_id=account_id).order_by("address")
        return [(e.address, e.is_primary, e.is_verified) for e in rows]

    return outside_event_loop(read)


def credentials_of(account_id: str) -> list[str]:
    def read() -> list[str]:
        from hankoflow.models import WebauthnCredential

        return [c.name for c in WebauthnCredential.objects.filter(account_id=account_id)]

    return outside_event_loop(read)


def sessions_of(account_id: str) -> list[str]:
    def read() -> list[str]:
        from hankoflow.models import Session

        return sorted(str(s.id) for s in Session.objects.filter(account_id=account_id))

    return outside_event_loop(read)


def account_exists(account_id: str) -> bool:
    def read() -> bool:
        from hankoflow.models import Account

        return Account.objects.filter(id=account_id).exists()

    return outside_event_loop(read)


# --- the journey -------------------------------------------------------------------------------


@pytest.fixture
def profile_settings(http_settings, settings) -> dict[str, Any]:
    settings.HANKOFLOW = {**settings.HANKOFLOW, "ACCOUNT": {"ALLOW_DELETION": True}}
    return settings.HANKOFLOW


def test_a_person_manages_their_account_with_hanko_profile(
    browser_page, loopback_server, profile_settings, mailoutbox
) -> None:
    page, traffic = browser_page
    first = f"first-{uuid.uuid4().hex[:8]}@example.com"
    second = f"second-{uuid.uuid4().hex[:8]}@example.com"
    account_id = make_account(first)
    profile = HankoProfile(page, traffic, loopback_server.url)

    # 1. Signed out: <hanko-auth>; signed in: <hanko-profile>.
    profile.open()
    expect(page.locator("#signed-out")).to_contain_text("Sign in to see your profile.")
    expect(profile.element).to_have_count(0)
    profile.sign_in(first, PASSWORD, before=0)
    expect(page.locator("hanko-auth")).to_have_count(0)
    expect(page.locator("#signed-in")).to_contain_text(f"Signed in as {first}.")
    expect(profile.item(first)).to_contain_text("primary")
    screenshot(page, "profile-elements-1-signed-in")

    # 2. A second address, confirmed with its passcode; it becomes primary; the first goes.
    profile.open_item("Add email")
    new_email = profile.element.get_by_placeholder("New email address")
    new_email.fill(second)
    call = profile.run("email_create", profile.save_button("New email address"))
    assert (call.status, call.state["name"]) == (200, "passcode_confirmation"), call.state
    code = last_passcode(mailoutbox, second)
    assert code is not None
    with page.expect_response(lambda r: "action=verify_passcode%40" in r.url) as answer:
        for index, digit in enumerate(code):  # the sixth digit submits
            profile.element.locator(f"input[name=passcode{index}]").fill(digit)
    assert FlowCall.of(answer.value.request).state["name"] == "profile_init"
    expect(profile.item(second)).to_be_visible()
    assert emails_of(account_id) == sorted([(first, True, True), (second, False, True)])

    item = profile.open_item(second)
    call = profile.run("email_set_primary", profile.link(item, "Set as primary"))
    assert call.state["name"] == "profile_init", call.state
    expect(profile.item(second)).to_contain_text("primary")
    assert (second, True, True) in emails_of(account_id)

    item = profile.open_item(first)
    call = profile.run("email_delete", profile.dangerous_link(item, "Delete"))
    assert call.state["name"] == "profile_init", call.state
    expect(profile.item(first)).to_have_count(0)
    assert emails_of(account_id) == [(second, True, True)]
    screenshot(page, "profile-elements-2-emails")

    # 3. A passkey: create (virtual authenticator), rename, delete.
    authenticators = Authenticators(page)
    authenticator = authenticators.add(PLATFORM_AUTHENTICATOR)
    item = profile.open_item("Create a passkey")
    with page.expect_response(
        lambda r: "action=webauthn_verify_attestation_response%40" in r.url
    ) as answer:
        item.get_by_role("button", name="Create a passkey").click()
    call = FlowCall.of(answer.value.request)
    assert (call.status, call.state["name"]) == (200, "profile_init"), call.state
    passkeys = call.state["payload"]["user"]["passkeys"]
    assert len(passkeys) == 1
    assert len(authenticator.credentials()) == 1
    # Unnamed: the element shows "Passkey-" and a piece of its id.
    assert credentials_of(account_id) == [""]
    expect(profile.item("Passkey-")).to_be_visible()
    original_name = profile.item("Passkey-").inner_text().strip()
    item = profile.open_item(original_name)
    profile.link(item, "Rename").click()
    name_field = profile.element.get_by_placeholder("New passkey name")
    expect(name_field).to_have_value(original_name)
    name_field.fill("Work laptop")
    call = profile.run("webauthn_credential_rename", profile.save_button("New passkey name"))
    assert call.state["name"] == "profile_init", call.state
    expect(profile.item("Work laptop")).to_be_visible()
    assert credentials_of(account_id) == ["Work laptop"]

    item = profile.open_item("Work laptop")
    call = profile.run("webauthn_credential_delete", profile.dangerous_link(item, "Delete"))
    assert call.state["name"] == "profile_init", call.state
    expect(profile.item("Work laptop")).to_have_count(0)
    assert credentials_of(account_id) == []
    # The authenticator still holds the key: it would answer the next login's autofill request.
    authenticators.cdp.send(
        "WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator.id}
    )
    screenshot(page, "profile-elements-3-passkeys")

    # 4. Another device's session: listed, then revoked.
    other = sign_in_elsewhere(account_id)
    page.reload(wait_until="domcontentloaded")
    profile.wait_for_profile()
    expect(profile.item("Current session")).to_be_visible()
    expect(profile.item("Safari")).to_be_visible()
    item = profile.open_item("Safari")
    call = profile.run("session_delete", profile.dangerous_link(item, "Revoke"))
    assert call.state["name"] == "profile_init", call.state
    assert [s["id"] for s in call.state["payload"]["sessions"]] != [] and other not in [
        s["id"] for s in call.state["payload"]["sessions"]
    ]
    assert other not in sessions_of(account_id)
    expect(profile.item("Current session")).to_be_visible()

    # 5. A new password; the old one stops working, the new one signs in.
    profile.open_item("Change password")
    new_password = profile.element.get_by_placeholder("New password")
    new_password.fill(NEW_PASSWORD)
    call = profile.run("password_update", profile.save_button("New password"))
    assert call.state["name"] == "profile_init", call.state
    auth = profile.auth
    before = auth.events("login_init")
    with page.expect_response(lambda r: r.url.endswith("/logout")) as answer:
        page.get_by_role("button", name="Log out").click()
    assert answer.value.status == 204
    expect(page.locator("#signed-out")).to_contain_text("You are signed out.")
    expect(profile.element).to_have_count(0)
    auth.wait_for_new_flow("login_init", before=before)
    auth.submit_email(second, "login_method_chooser")
    auth.choose("Password", "login_password")
    refused = auth.enter_password(PASSWORD)
    assert (refused.status, refused.state["name"]) == (400, "login_password"), refused.state
    password_input = refused.state["actions"]["password_login"]["inputs"]["password"]
    assert password_input["error"]["code"] == "value_invalid_error"
    profile.finish_sign_in(auth.enter_password(NEW_PASSWORD))
    expect(page.locator("#signed-in")).to_contain_text(f"Signed in as {second}.")
    screenshot(page, "profile-elements-4-new-password")

    # 6. Delete the account, after the element's confirm page.
    before = auth.events("login_init")
    profile.element.get_by_role("button", name="Delete account").click()
    profile.element.get_by_label("Yes, delete this account.").check()
    call = profile.run("account_delete", profile.element.get_by_role("button", name="Delete"))
    assert (call.status, call.state["name"]) == (200, "account_deleted"), call.state
    expect(page.locator("#signed-out")).to_contain_text("Your account is deleted.")
    auth.wait_for_new_flow("login_init", before=before)  # <hanko-auth> is back
    assert session_cookie(page) is None
    assert not account_exists(account_id)
    assert sessions_of(account_id) == []
    screenshot(page, "profile-elements-5-deleted")

    # The wrong password (step 5) is the only 4xx answer; nothing else failed.
    traffic.assert_healthy(expected_4xx=1)
