"""Passkeys, security keys, TOTP and device trust with Hanko's own ``<hanko-auth>``
(@teamhanko/hanko-elements 2.7.0, unchanged) on ``/elements/``, in Debian's Chromium, with
Chromium's DevTools virtual authenticators in place of a person's devices (issue 5).

Three journeys, each a fresh person with Hanko's default configuration (passkeys on, MFA optional
and offered at sign-up, device trust "prompt"):

1. passkey: sign up (passcode, password, skip MFA, "Create a passkey") -> log out -> sign in with
   the element's "Sign in with a passkey" button -> log out -> signed in again by the passkey
   autofill (conditional mediation) request that the element starts on ``login_init``;
2. TOTP: sign up with an authenticator app (the secret read from the element's page, codes from
   pyotp; a wrong code first) -> log out -> log in by passcode, then a wrong and a right TOTP
   code -> "Trust this browser" -> log out -> log in by password: no TOTP asked (device cookie);
3. security key: sign up with a USB security key as the second factor -> log out -> log in with
   the password, then the security key; the device is not trusted ("Skip").

The authenticators (``WebAuthn.addVirtualAuthenticator``): a platform authenticator ("internal",
resident keys, user verification: a laptop's fingerprint reader) and, for journey 3, a roaming
security key ("usb", no resident keys). With ``automaticPresenceSimulation`` they answer every
request at once, like a person who always touches the sensor. Chromium's virtual authenticators
also answer a conditional-mediation (autofill) request by themselves: with a passkey on the
platform authenticator, every ``login_init`` would sign the person straight back in. Journey 1
therefore switches presence simulation off while it wants the autofill request to stay pending
(a person who ignores the autofill prompt) and on again to press the passkey button or to let the
autofill request complete. A request started while presence is off stays pending until the
element aborts it (the element aborts the previous WebAuthn request whenever it starts another).

Quirks of the elements 2.7.0 that the tests follow (not server bugs; Hanko's backend answers
the same):
- after a wrong code on ``mfa_otp_secret_creation`` (Hanko: ``form_data_invalid_error`` with the
  input error ``passcode_invalid``, HTTP 400) the element shows "The passcode provided was not
  correct." but leaves the six digits filled (it clears them only for a *state* error
  ``passcode_invalid``); the person deletes them before typing the next code. ``login_otp``
  clears them itself.
- a state the element reaches through an auto-step (``login_passkey``,
  ``onboarding_verify_passkey_attestation``) is announced like any other, so the tests wait for
  the state after it.

Needs PostgreSQL + Redis (passcodes travel through a real Celery worker and SMTP, see
``test_elements_auth.py``): skips without them, fails under ``CI=true``.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pyotp
import pytest

from tests.e2e.support import (
    FlowCall,
    outside_event_loop,
    screenshot,
    state_events,
    wait_until_sent,
)
from tests.e2e.test_elements_auth import (
    LOGIN_SUBJECT,
    PASSWORD,
    VERIFICATION_SUBJECT,
    HankoAuth,
    action_body,
    assert_signed_in,
    assert_signed_out,
    steps,
)

try:
    from playwright.sync_api import CDPSession, Locator, Page, expect
except ImportError:  # reported by the ``browser_page`` fixture (conftest.py)
    expect = None

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# en.ts of hanko-elements 2.7.0
PASSCODE_INVALID = "The passcode provided was not correct."  # flowErrors.passcode_invalid
DEVICE_COOKIE = "hanko-device-token"  # MFA.DEVICE_TRUST_COOKIE_NAME, Hanko's default
DEVICE_TRUST_DURATION = timedelta(hours=720)  # MFA.DEVICE_TRUST_DURATION, Hanko's default

# A laptop's platform authenticator: discoverable credentials (passkeys), user verification.
PLATFORM_AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}
# A USB security key without a PIN: server-side credentials only.
SECURITY_KEY = {
    "protocol": "ctap2",
    "transport": "usb",
    "hasResidentKey": False,
    "hasUserVerification": False,
    "automaticPresenceSimulation": True,
}

# The sign-up of every journey up to the MFA chooser (Hanko's default configuration).
SIGN_UP_TO_MFA_CHOOSER = [
    ("/registration", None, 200, "preflight"),
    ("/registration", "register_client_capabilities", 200, "registration_init"),
    ("/registration", "register_login_identifier", 200, "passcode_confirmation"),
    ("/registration", "verify_passcode", 200, "password_creation"),
    ("/registration", "register_password", 200, "mfa_method_chooser"),
]
# What Chromium with a virtual platform authenticator tells the server in ``preflight``.
CAPABILITIES = {
    "webauthn_available": True,
    "webauthn_conditional_mediation_available": True,
    "webauthn_platform_authenticator_available": True,
}


# --- Chromium's virtual authenticators -----------------------------------------------------------


def b64url(data: str) -> str:
    """DevTools' standard base64 (credential ids, user handles) as WebAuthn's base64url."""
    return base64.urlsafe_b64encode(base64.b64decode(data)).decode().rstrip("=")


def b64url_decode(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


@dataclass
class VirtualAuthenticator:
    """One authenticator of ``WebAuthn.addVirtualAuthenticator`` on the test's page."""

    cdp: CDPSession
    id: str

    def credentials(self) -> list[dict[str, Any]]:
        return self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})["credentials"]

    def credential(self) -> dict[str, Any]:
        found = self.credentials()
        assert len(found) == 1, found
        return found[0]

    def presence(self, on: bool) -> None:
        """Whether the authenticator answers by itself (a person touching it) from now on."""
        self.cdp.send(
            "WebAuthn.setAutomaticPresenceSimulation", {"authenticatorId": self.id, "enabled": on}
        )


class Authenticators:
    """The DevTools WebAuthn domain of one page: its virtual authenticators."""

    def __init__(self, page: Page) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable")

    def add(self, options: dict[str, Any]) -> VirtualAuthenticator:
        answer = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
        return VirtualAuthenticator(self.cdp, answer["authenticatorId"])


@pytest.fixture
def authenticators(browser_page) -> Authenticators:
    page, _ = browser_page
    return Authenticators(page)


# --- the element ---------------------------------------------------------------------------------


class Elements(HankoAuth):
    """``HankoAuth`` with the pages of passkeys, MFA and device trust."""

    def error_box(self) -> Locator:
        return self.element.locator("[part~=error]")

    def press(self, button: str, then: str) -> None:
        """Press one of the element's buttons or links; wait for the state ``then``."""
        before = self.events(then)
        self.button(button).click()
        self.wait_for_state(then, before)

    def set_password(self, password: str, then: str) -> None:
        expect(self.headline()).to_have_text("Set new password")
        before = self.events(then)
        self.element.get_by_label("New password", exact=True).fill(password)
        self.button("Continue").click()
        self.wait_for_state(then, before)

    def enter_code(self, code: str, then: str) -> None:
        """Type a six-digit code into the element's digit boxes; the sixth digit submits it.

        Boxes the element left filled after a wrong code (``mfa_otp_secret_creation`` does) are
        emptied first, from the last one, as a person would; an empty box never submits.
        """
        boxes = [self.element.locator(f"input[name=passcode{index}]") for index in range(6)]
        for box in reversed(boxes):
            if box.input_value():
                box.fill("")
        before = self.events(then)
        for box, digit in zip(boxes, code, strict=True):
            box.fill(digit)
        self.wait_for_state(then, before)

    def otp_secret(self) -> str:
        """The secret as the page shows it, under "OTP secret key" beside the QR code."""
        return self.element.locator("img[alt=QR-Code] ~ div").inner_text().strip()

    def device_cookie(self) -> dict[str, Any] | None:
        cookies = [c for c in self.page.context.cookies() if c["name"] == DEVICE_COOKIE]
        assert len(cookies) <= 1, cookies
        return cookies[0] if cookies else None


# --- helpers -------------------------------------------------------------------------------------


def new_email(kind: str) -> str:
    return f"elements-{kind}-{uuid.uuid4().hex[:12]}@example.com"


def sign_up_to_mfa_chooser(auth: Elements, mailbox, email: str) -> int:
    """From ``login_init``: "Create account", the email, its passcode, a password. Returns the
    position in the traffic where the registration flow started."""
    expect(auth.headline()).to_have_text("Sign in")
    mark = auth.traffic.mark()
    auth.switch_to_registration()
    auth.submit_email(email, then="passcode_confirmation")
    code = mailbox.code(email, VERIFICATION_SUBJECT)
    auth.enter_passcode(email, code, then="password_creation")
    auth.set_password(PASSWORD, then="mfa_method_chooser")
    expect(auth.headline()).to_have_text("Set up MFA")
    expect(auth.button("Security key")).to_be_visible()
    expect(auth.button("Authenticator app")).to_be_visible()
    return mark


def check_sign_up_calls(calls: list[FlowCall], email: str) -> None:
    assert action_body(calls, "register_client_capabilities") == CAPABILITIES
    assert action_body(calls, "register_login_identifier")["email"] == email
    assert action_body(calls, "register_password") == {"new_password": PASSWORD}


def call_of(calls: list[FlowCall], action: str) -> FlowCall:
    matching = [c for c in calls if c.action == action]
    assert len(matching) == 1, [c.summary for c in calls]
    return matching[0]


def flow_id_of(call: FlowCall) -> str:
    return call.path.rsplit("%40", 1)[1]


def client_data(credential: dict[str, Any]) -> dict[str, Any]:
    return json.loads(b64url_decode(credential["response"]["clientDataJSON"]))


def wrong_code_for(secret: str) -> str:
    """Six digits that no time step around now accepts."""
    now = time.time()
    valid = {pyotp.TOTP(secret).at(now + offset) for offset in (-60, -30, 0, 30, 60)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)


def credentials_in_db(email: str) -> list[tuple[str, bool, list[str], int]]:
    """``(id, mfa_only, transports, sign_count)`` of the account's WebAuthn credentials."""
    from hankoflow.models import WebauthnCredential

    def rows() -> list[tuple[str, bool, list[str], int]]:
        return [
            (c.id, c.mfa_only, c.transports, c.sign_count)
            for c in WebauthnCredential.objects.filter(account__emails__address=email)
        ]

    return outside_event_loop(rows)


def has_otp_secret(email: str) -> bool:
    from hankoflow.models import OTPSecret

    return outside_event_loop(
        lambda: OTPSecret.objects.filter(account__emails__address=email).exists()
    )


def log_in_by_password(auth: Elements, email: str, then: str) -> FlowCall:
    auth.submit_email(email, then="login_method_chooser")
    auth.choose("Password", then="login_password")
    before = auth.events(then)
    call = auth.enter_password(PASSWORD)
    auth.wait_for_state(then, before)
    return call


# --- 1. passkey ----------------------------------------------------------------------------------


def test_passkey_sign_up_then_sign_in_with_the_button_and_by_autofill(
    mailbox, browser_page, live_server, http_settings, authenticators
):
    page, traffic = browser_page
    auth = Elements(page, traffic, live_server.url)
    laptop = authenticators.add(PLATFORM_AUTHENTICATOR)
    email = new_email("passkey")

    # Sign up: skip MFA, create a passkey on the platform authenticator. -----------------------
    auth.open()
    mark = sign_up_to_mfa_chooser(auth, mailbox, email)
    screenshot(page, "elements-passkey-mfa-method-chooser")
    auth.press("Skip", then="onboarding_create_passkey")
    expect(auth.headline()).to_have_text("Create a passkey")
    screenshot(page, "elements-passkey-onboarding-create-passkey")
    auth.press("Create a passkey", then="success")

    calls = traffic.flow_calls(since=mark)
    assert steps(calls) == [
        *SIGN_UP_TO_MFA_CHOOSER,
        ("/registration", "skip", 200, "onboarding_create_passkey"),
        (
            "/registration",
            "webauthn_generate_creation_options",
            200,
            "onboarding_verify_passkey_attestation",
        ),
        ("/registration", "webauthn_verify_attestation_response", 200, "success"),
    ]
    check_sign_up_calls(calls, email)
    options = call_of(calls, "webauthn_generate_creation_options").state["payload"]
    public_key = options["creation_options"]["publicKey"]
    assert public_key["rp"]["id"] == "localhost"
    assert public_key["user"]["name"] == email
    assert public_key["authenticatorSelection"]["residentKey"] == "required"
    attestation = action_body(calls, "webauthn_verify_attestation_response")["public_key"]
    assert client_data(attestation)["type"] == "webauthn.create"
    assert client_data(attestation)["challenge"] == public_key["challenge"]
    assert client_data(attestation)["origin"] == auth.traffic.origin
    assert attestation["authenticatorAttachment"] == "platform"

    # The passkey: on the authenticator (discoverable, for the user's id) and on the server.
    stored = laptop.credential()
    passkey_id = b64url(stored["credentialId"])
    assert stored["isResidentCredential"] is True and stored["rpId"] == "localhost"
    assert stored["userName"] == email
    assert attestation["id"] == passkey_id
    success = calls[-1].state["payload"]
    user_id = success["claims"]["subject"]
    assert str(uuid.UUID(bytes=base64.b64decode(stored["userHandle"]))) == user_id
    assert success["claims"]["amr"] == ["otp", "pwd", "passkey"]
    assert [p["id"] for p in success["user"]["passkeys"]] == [passkey_id]
    assert [c[:3] for c in credentials_in_db(email)] == [(passkey_id, False, ["internal"])]
    wait_until_sent(email, ["email_verification"])

    # From here on the authenticator waits for a "touch": the autofill request that the element
    # starts on every login_init stays pending instead of signing the person in at once.
    laptop.presence(False)
    assert_signed_in(auth, email, amr=["otp", "pwd", "passkey"])

    # Log out; sign in with "Sign in with a passkey". ---------------------------------------
    auth.open()
    auth.log_out(then="login_init")
    assert_signed_out(auth)
    mark = traffic.mark()
    auth.open()
    screenshot(page, "elements-passkey-login-init")
    login_init = traffic.flow_calls(since=mark)
    assert steps(login_init) == [
        ("/login", None, 200, "preflight"),
        ("/login", "register_client_capabilities", 200, "login_init"),
    ]
    assert action_body(login_init, "register_client_capabilities") == CAPABILITIES
    # The login_init payload carries the options of the autofill request (discoverable).
    autofill = login_init[-1].state["payload"]["request_options"]["publicKey"]
    assert autofill["rpId"] == "localhost" and autofill["challenge"]
    assert "allowCredentials" not in autofill
    assert "webauthn_verify_assertion_response" in login_init[-1].state["actions"]
    expect(auth.button("Sign in with a passkey")).to_be_visible()

    mark = traffic.mark()
    laptop.presence(True)
    auth.press("Sign in with a passkey", then="success")
    calls = traffic.flow_calls(since=mark)
    assert steps(calls) == [
        ("/login", "webauthn_generate_request_options", 200, "login_passkey"),
        ("/login", "webauthn_verify_assertion_response", 200, "success"),
    ]
    request = calls[0].state["payload"]["request_options"]["publicKey"]
    assert request["rpId"] == "localhost" and "allowCredentials" not in request
    assertion = action_body(calls, "webauthn_verify_assertion_response")["assertion_response"]
    assert assertion["id"] == passkey_id
    assert client_data(assertion)["challenge"] == request["challenge"]
    assert client_data(assertion)["challenge"] != autofill["challenge"]
    assert b64url_decode(assertion["response"]["userHandle"]) == uuid.UUID(user_id).bytes
    success = calls[-1].state["payload"]
    assert success["claims"]["subject"] == user_id
    assert success["claims"]["amr"] == ["passkey"]
    assert success["last_login"] == {"login_method": "passkey"}
    laptop.presence(False)
    assert_signed_in(auth, email, amr=["passkey"])

    # Log out with the authenticator answering: the autofill request of the new login_init
    # signs the person in without a click (as after picking the passkey in the autofill list).
    auth.open()  # signed in; the hidden element's autofill request waits for presence
    laptop.presence(True)
    mark = traffic.mark()
    before = auth.events("success")
    with page.expect_response(lambda r: r.url.endswith("/logout")) as answer:
        page.get_by_role("button", name="Log out").click()
    assert answer.value.status == 204
    auth.wait_for_state("success", before)
    screenshot(page, "elements-passkey-signed-in-by-autofill")
    calls = traffic.flow_calls(since=mark)
    assert steps(calls) == [
        ("/login", None, 200, "preflight"),
        ("/login", "register_client_capabilities", 200, "login_init"),
        ("/login", "webauthn_verify_assertion_response", 200, "success"),
    ]
    autofill = calls[1].state["payload"]["request_options"]["publicKey"]
    assertion = action_body(calls, "webauthn_verify_assertion_response")["assertion_response"]
    assert assertion["id"] == passkey_id
    assert client_data(assertion)["challenge"] == autofill["challenge"]  # login_init's options
    assert flow_id_of(calls[2]) == flow_id_of(calls[1])
    assert calls[-1].state["payload"]["claims"]["amr"] == ["passkey"]
    assert calls[-1].state["payload"]["claims"]["subject"] == user_id
    laptop.presence(False)
    assert_signed_in(auth, email, amr=["passkey"])

    # Two sign-ins with the passkey: the server follows the authenticator's signature counter.
    (row,) = credentials_in_db(email)
    assert 3 <= row[3] <= laptop.credential()["signCount"]
    # No 5xx, no page error; the only 4xx is /api/whoami's 401 after the first logout.
    traffic.assert_healthy(expected_4xx=1)
    assert "error" not in state_events(page)


# --- 2. TOTP and device trust --------------------------------------------------------------------


def test_totp_at_sign_up_then_passcode_and_totp_then_trusted_device(
    mailbox, browser_page, live_server, http_settings, authenticators
):
    page, traffic = browser_page
    auth = Elements(page, traffic, live_server.url)
    laptop = authenticators.add(PLATFORM_AUTHENTICATOR)  # offered a passkey, the person skips
    email = new_email("totp")

    # Sign up with an authenticator app. -------------------------------------------------------
    auth.open()
    mark = sign_up_to_mfa_chooser(auth, mailbox, email)
    auth.press("Authenticator app", then="mfa_otp_secret_creation")
    expect(auth.headline()).to_have_text("Set up authenticator app")
    secret = auth.otp_secret()
    screenshot(page, "elements-totp-mfa-otp-secret-creation")
    payload = traffic.flow_calls(since=mark)[-1].state["payload"]
    assert secret == payload["otp_secret"]
    assert len(secret) >= 16 and pyotp.TOTP(secret).now().isdigit()
    qr_code = auth.element.locator("img[alt=QR-Code]")
    assert qr_code.get_attribute("src") == payload["otp_image_source"]
    assert payload["otp_image_source"].startswith("data:image/png;base64,")

    wrong_enrolment = wrong_code_for(secret)
    auth.enter_code(wrong_enrolment, then="mfa_otp_secret_creation")
    expect(auth.error_box()).to_be_visible()
    expect(auth.error_box()).to_have_text(PASSCODE_INVALID)
    screenshot(page, "elements-totp-mfa-otp-secret-creation-wrong-code")
    assert auth.otp_secret() == secret  # the same secret, shown again

    enrolment_code = pyotp.TOTP(secret).now()
    auth.enter_code(enrolment_code, then="onboarding_create_passkey")
    auth.press("Skip", then="success")
    calls = traffic.flow_calls(since=mark)
    assert steps(calls) == [
        *SIGN_UP_TO_MFA_CHOOSER,
        ("/registration", "continue_to_otp_secret_creation", 200, "mfa_otp_secret_creation"),
        ("/registration", "otp_code_verify", 400, "mfa_otp_secret_creation"),
        ("/registration", "otp_code_verify", 200, "onboarding_create_passkey"),
        ("/registration", "skip", 200, "success"),
    ]
    check_sign_up_calls(calls, email)
    wrong, right = (c for c in calls if c.action == "otp_code_verify")
    assert json.loads(wrong.body or "null")["input_data"] == {"otp_code": wrong_enrolment}
    assert wrong.state["error"]["code"] == "form_data_invalid_error"
    otp_input = wrong.state["actions"]["otp_code_verify"]["inputs"]["otp_code"]
    assert otp_input["error"]["code"] == "passcode_invalid"
    assert json.loads(right.body or "null")["input_data"] == {"otp_code": enrolment_code}
    success = calls[-1].state["payload"]
    assert success["claims"]["amr"] == ["otp", "pwd", "totp"]
    assert success["user"]["mfa_config"]["auth_app_set_up"] is True
    assert has_otp_secret(email)
    assert laptop.credentials() == [] and credentials_in_db(email) == []
    assert auth.device_cookie() is None
    assert_signed_in(auth, email, amr=["otp", "pwd", "totp"])

    # Log out; log in by passcode, then the TOTP code; trust this browser. ---------------------
    auth.open()
    auth.log_out(then="login_init")
    mark = traffic.mark()
    auth.submit_email(email, then="login_method_chooser")
    auth.choose("Passcode", then="passcode_confirmation")
    code = mailbox.code(email, LOGIN_SUBJECT)
    auth.enter_passcode(email, code, then="login_otp")
    expect(auth.headline()).to_have_text("Authentication code")
    screenshot(page, "elements-totp-login-otp")

    wrong_login = wrong_code_for(secret)
    auth.enter_code(wrong_login, then="login_otp")
    expect(auth.error_box()).to_be_visible()
    expect(auth.error_box()).to_have_text(PASSCODE_INVALID)
    screenshot(page, "elements-totp-login-otp-wrong-code")
    assert auth.session_cookie() is None
    # The next time step: the enrolment code's step may still be current, and a step is
    # accepted once.
    login_code = pyotp.TOTP(secret).at(time.time() + 30)
    auth.enter_code(login_code, then="onboarding_create_passkey")
    auth.press("Skip", then="device_trust")
    expect(auth.headline()).to_have_text("Trust this browser?")
    screenshot(page, "elements-totp-device-trust")
    auth.press("Trust this browser", then="success")

    calls = traffic.flow_calls(since=mark)
    assert steps(calls) == [
        ("/login", "continue_with_login_identifier", 200, "login_method_chooser"),
        ("/login", "continue_to_passcode_confirmation", 200, "passcode_confirmation"),
        ("/login", "verify_passcode", 200, "login_otp"),
        ("/login", "otp_code_validate", 400, "login_otp"),
        ("/login", "otp_code_validate", 200, "onboarding_create_passkey"),
        ("/login", "skip", 200, "device_trust"),
        ("/login", "trust_device", 200, "success"),
    ]
    wrong, right = (c for c in calls if c.action == "otp_code_validate")
    assert json.loads(wrong.body or "null")["input_data"] == {"otp_code": wrong_login}
    otp_input = wrong.state["actions"]["otp_code_validate"]["inputs"]["otp_code"]
    assert otp_input["error"]["code"] == "passcode_invalid"
    assert json.loads(right.body or "null")["input_data"] == {"otp_code": login_code}
    success = calls[-1].state["payload"]
    user_id = success["claims"]["subject"]
    assert success["claims"]["amr"] == ["otp", "totp"]
    assert success["last_login"] == {"login_method": "passcode", "mfa_method": "totp"}
    device = auth.device_cookie()
    assert device is not None, "no device cookie after trust_device"
    assert device["httpOnly"] and device["path"] == "/"
    expected_expiry = time.time() + DEVICE_TRUST_DURATION.total_seconds()
    assert abs(device["expires"] - expected_expiry) < 300, device
    assert_signed_in(auth, email, amr=["otp", "totp"])

    # Log out; log in by password: the trusted browser is not asked for a code. ---------------
    auth.open()
    auth.log_out(then="login_init")
    assert auth.device_cookie() == device  # the device stays trusted after a logout
    mark = traffic.mark()
    log_in_by_password(auth, email, then="onboarding_create_passkey")
    auth.press("Skip", then="success")
    calls = traffic.flow_calls(since=mark)
    assert steps(calls) == [
        ("/login", "continue_with_login_identifier", 200, "login_method_chooser"),
        ("/login", "continue_to_password_login", 200, "login_password"),
        ("/login", "password_login", 200, "onboarding_create_passkey"),
        ("/login", "skip", 200, "success"),
    ]
    success = calls[-1].state["payload"]
    assert success["claims"]["subject"] == user_id
    assert success["claims"]["amr"] == ["pwd"]
    assert success["last_login"] == {"login_method": "password"}
    assert_signed_in(auth, email, amr=["pwd"])

    assert len(mailbox.sink.messages_to(email)) == 2
    wait_until_sent(email, ["email_verification", "login"])
    # No 5xx, no page error; the only 4xx are the two wrong codes.
    traffic.assert_healthy(expected_4xx=2)
    assert "error" not in state_events(page)


# --- 3. security key -----------------------------------------------------------------------------


def test_security_key_as_second_factor(
    mailbox, browser_page, live_server, http_settings, authenticators
):
    page, traffic = browser_page
    auth = Elements(page, traffic, live_server.url)
    laptop = authenticators.add(PLATFORM_AUTHENTICATOR)
    key = authenticators.add(SECURITY_KEY)
    email = new_email("security-key")

    # Sign up with a security key as the second factor. ---------------------------------------
    auth.open()
    mark = sign_up_to_mfa_chooser(auth, mailbox, email)
    auth.press("Security key", then="mfa_security_key_creation")
    expect(auth.headline()).to_have_text("Add security key")
    screenshot(page, "elements-security-key-mfa-security-key-creation")
    auth.press("Add a security key", then="onboarding_create_passkey")
    screenshot(page, "elements-security-key-onboarding-create-passkey")
    auth.press("Skip", then="success")

    calls = traffic.flow_calls(since=mark)
    assert steps(calls) == [
        *SIGN_UP_TO_MFA_CHOOSER,
        ("/registration", "continue_to_security_key_creation", 200, "mfa_security_key_creation"),
        (
            "/registration",
            "webauthn_generate_creation_options",
            200,
            "onboarding_verify_passkey_attestation",
        ),
        (
            "/registration",
            "webauthn_verify_attestation_response",
            200,
            "onboarding_create_passkey",
        ),
        ("/registration", "skip", 200, "success"),
    ]
    check_sign_up_calls(calls, email)
    options = call_of(calls, "webauthn_generate_creation_options").state["payload"]
    selection = options["creation_options"]["publicKey"]["authenticatorSelection"]
    assert selection["authenticatorAttachment"] == "cross-platform"
    assert selection["residentKey"] == "discouraged"
    assert selection["userVerification"] == "discouraged"
    attestation = action_body(calls, "webauthn_verify_attestation_response")["public_key"]
    assert attestation["authenticatorAttachment"] == "cross-platform"
    assert attestation["response"]["transports"] == ["usb"]

    # The key holds a server-side credential; the laptop holds nothing.
    stored = key.credential()
    key_id = b64url(stored["credentialId"])
    assert stored["isResidentCredential"] is False and stored["rpId"] == "localhost"
    assert attestation["id"] == key_id
    assert laptop.credentials() == []
    success = calls[-1].state["payload"]
    assert success["claims"]["amr"] == ["otp", "pwd", "security_key"]
    assert [k["id"] for k in success["user"]["security_keys"]] == [key_id]
    assert not success["user"].get("passkeys")
    assert [c[:3] for c in credentials_in_db(email)] == [(key_id, True, ["usb"])]
    assert_signed_in(auth, email, amr=["otp", "pwd", "security_key"])

    # Log out; log in with the password, then the security key; do not trust the browser. ----
    auth.open()
    auth.log_out(then="login_init")
    mark = traffic.mark()
    log_in_by_password(auth, email, then="login_security_key")
    expect(auth.headline()).to_have_text("Security key")
    screenshot(page, "elements-security-key-login-security-key")
    auth.press("Use security key", then="onboarding_create_passkey")
    auth.press("Skip", then="device_trust")
    expect(auth.headline()).to_have_text("Trust this browser?")
    auth.press("Skip", then="success")

    calls = traffic.flow_calls(since=mark)
    assert steps(calls) == [
        ("/login", "continue_with_login_identifier", 200, "login_method_chooser"),
        ("/login", "continue_to_password_login", 200, "login_password"),
        ("/login", "password_login", 200, "login_security_key"),
        ("/login", "webauthn_generate_request_options", 200, "login_passkey"),
        ("/login", "webauthn_verify_assertion_response", 200, "onboarding_create_passkey"),
        ("/login", "skip", 200, "device_trust"),
        ("/login", "skip", 200, "success"),
    ]
    request = call_of(calls, "webauthn_generate_request_options").state["payload"]
    public_key = request["request_options"]["publicKey"]
    assert public_key["allowCredentials"] == [
        {"type": "public-key", "id": key_id, "transports": ["usb"]}
    ]
    assert public_key["userVerification"] == "discouraged"
    assertion = action_body(calls, "webauthn_verify_assertion_response")["assertion_response"]
    assert assertion["id"] == key_id
    assert client_data(assertion)["challenge"] == public_key["challenge"]
    success = calls[-1].state["payload"]
    assert success["claims"]["amr"] == ["pwd", "security_key"]
    assert success["last_login"] == {"login_method": "password", "mfa_method": "security_key"}
    assert auth.device_cookie() is None  # not trusted: the key is asked for next time
    assert_signed_in(auth, email, amr=["pwd", "security_key"])

    (row,) = credentials_in_db(email)
    assert row[3] == key.credential()["signCount"] >= 2
    # No 5xx, no page error, no 4xx.
    traffic.assert_healthy(expected_4xx=0)
    assert "error" not in state_events(page)
