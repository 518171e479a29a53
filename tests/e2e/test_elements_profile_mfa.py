"""The authenticator app and security keys in Hanko's own ``<hanko-profile>``
(@teamhanko/hanko-elements 2.7.0, unchanged) on ``/elements/profile/``, in Debian's Chromium
(issue 12): set up an authenticator app with the code of the secret the element shows, add a
security key (Chromium's virtual USB authenticator), delete both. Each step is checked in the
element, on the wire and in the database, and each change queued its security notification."""

from __future__ import annotations

import uuid

import pyotp
import pytest

from tests.e2e.support import FlowCall, outside_event_loop, screenshot
from tests.e2e.test_elements_auth import PASSWORD
from tests.e2e.test_elements_passkeys_mfa import SECURITY_KEY, Authenticators
from tests.e2e.test_elements_profile import HankoProfile, make_account

try:
    from playwright.sync_api import expect
except ImportError:  # reported by the ``browser_page`` fixture (conftest.py)
    expect = None

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def second_factors(account_id: str) -> tuple[bool, int]:
    """Whether the account has an authenticator app, and how many security keys."""

    def read() -> tuple[bool, int]:
        from hankoflow.models import OTPSecret, WebauthnCredential

        keys = WebauthnCredential.objects.filter(account_id=account_id, mfa_only=True).count()
        return OTPSecret.objects.filter(account_id=account_id).exists(), keys

    return outside_event_loop(read)


def notifications_to(address: str) -> list[str]:
    def read() -> list[str]:
        from hankoflow.models import OutboxEmail

        return list(
            OutboxEmail.objects.filter(to=address)
            .order_by("created_at")
            .values_list("kind", flat=True)
        )

    return outside_event_loop(read)


def test_a_person_sets_up_and_removes_second_factors_with_hanko_profile(
    browser_page, loopback_server, http_settings
) -> None:
    page, traffic = browser_page
    email = f"mfa-{uuid.uuid4().hex[:8]}@example.com"
    account_id = make_account(email)
    profile = HankoProfile(page, traffic, loopback_server.url)
    profile.open()
    profile.sign_in(email, PASSWORD, before=0)

    # 1. The authenticator app: the element shows the secret; its current code sets it up.
    item = profile.open_item("Manage authenticator app")
    call = profile.run("continue_to_otp_secret_creation", profile.link(item, "Set up"))
    assert (call.status, call.state["name"]) == (200, "mfa_otp_secret_creation"), call.state
    secret = profile.element.locator("img[alt=QR-Code] ~ div").inner_text().strip()
    assert secret == call.state["payload"]["otp_secret"]
    screenshot(page, "profile-elements-mfa-1-otp-secret")
    code = pyotp.TOTP(secret).now()
    with page.expect_response(lambda r: "action=otp_code_verify%40" in r.url) as answer:
        for index, digit in enumerate(code):  # the sixth digit submits
            profile.element.locator(f"input[name=passcode{index}]").fill(digit)
    call = FlowCall.of(answer.value.request)
    assert (call.status, call.state["name"]) == (200, "profile_init"), call.state
    assert call.state["payload"]["user"]["mfa_config"]["auth_app_set_up"] is True
    item = profile.open_item("Manage authenticator app")
    expect(item).to_contain_text("Authenticator app is set up")
    assert second_factors(account_id) == (True, 0)

    # 2. A security key: created with the virtual USB key, listed by the element.
    Authenticators(page).add(SECURITY_KEY)
    item = profile.open_item("Add a security key")
    with page.expect_response(
        lambda r: "action=webauthn_verify_attestation_response%40" in r.url
    ) as answer:
        item.get_by_role("button", name="Add a security key").click()
    call = FlowCall.of(answer.value.request)
    assert (call.status, call.state["name"]) == (200, "profile_init"), call.state
    [key] = call.state["payload"]["user"]["security_keys"]
    assert key["mfa_only"] is True and key["transports"] == ["usb"]
    expect(profile.item("SecurityKey-")).to_be_visible()
    assert second_factors(account_id) == (True, 1)
    screenshot(page, "profile-elements-mfa-2-security-key")

    # 3. Both go again.
    item = profile.open_item("SecurityKey-")
    call = profile.run("security_key_delete", profile.dangerous_link(item, "Delete"))
    assert call.state["name"] == "profile_init", call.state
    expect(profile.item("SecurityKey-")).to_have_count(0)
    item = profile.open_item("Manage authenticator app")
    call = profile.run("otp_secret_delete", profile.dangerous_link(item, "Delete"))
    assert call.state["name"] == "profile_init", call.state
    assert call.state["payload"]["user"]["mfa_config"]["auth_app_set_up"] is False
    assert second_factors(account_id) == (False, 0)
    screenshot(page, "profile-elements-mfa-3-removed")

    assert notifications_to(email) == ["mfa_create", "mfa_create", "mfa_delete", "mfa_delete"]
    traffic.assert_healthy(expected_4xx=0)
