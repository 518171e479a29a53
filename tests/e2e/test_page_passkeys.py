"""Passkeys on the server-rendered page (``/``) in Chromium, with no Hanko elements at all.

The page's own ``webauthn.js`` (``hankoflow/static/hankoflow/webauthn.js``) does what
hanko-elements does with JavaScript: it reports the browser's WebAuthn capabilities on
``preflight``, creates a passkey on ``onboarding_verify_passkey_attestation``, signs in with one
on ``login_passkey`` and through passkey autofill on ``login_init`` (flow-api.md §1.11). The
authenticator is Chromium's DevTools virtual authenticator (ctap2, internal, resident keys, user
verification, presence simulated), so no person has to touch anything.

WebAuthn needs a secure context and an RP ID matching the page's host: the live server runs on
``http://localhost:<port>`` and the tests set the RP ID ``localhost`` and that origin.

Chromium, its flags, the CI=true rule (skip locally, fail in CI when something is missing) and
the screenshot folder are those of ``test_elements_smoke.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connections

from hankoflow.models import WebauthnCredential
from hankoflow.testing.plugin import last_passcode
from tests.e2e.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SCREENSHOTS,
    TIMEOUT_MS,
    unavailable,
)

try:
    from playwright.sync_api import (
        CDPSession,
        Page,
        Request,
        Response,
        expect,
        sync_playwright,
    )
except ImportError:  # reported by the ``browser_page`` fixture: skip locally, fail in CI
    sync_playwright = None

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"  # noqa: S105 (a test password)
VIRTUAL_AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}
CAPABILITIES = (
    "webauthn_available",
    "webauthn_conditional_mediation_available",
    "webauthn_platform_authenticator_available",
)

# Makes the browser say it has no passkey autofill: login_init then carries no request_options
# and signing in with a passkey takes the button (webauthn_generate_request_options).
NO_AUTOFILL = """
if (window.PublicKeyCredential) {
  PublicKeyCredential.isConditionalMediationAvailable = async () => false;
}
"""

# Holds the first navigator.credentials.create() of the tab until the test calls
# window.__failCreate() (it then rejects like a cancelled prompt); later calls go through.
HOLD_FIRST_CREATE = """
if (navigator.credentials && !sessionStorage.getItem("createHeld")) {
  const create = navigator.credentials.create.bind(navigator.credentials);
  navigator.credentials.create = (options) => {
    if (sessionStorage.getItem("createHeld")) return create(options);
    sessionStorage.setItem("createHeld", "1");
    return new Promise((resolve, reject) => {
      window.__failCreate = () => reject(new DOMException("Cancelled.", "NotAllowedError"));
    });
  };
}
"""


@dataclass
class PolicyWatch:
    """The flow page's Content-Security-Policy as Chromium met it: the header of every flow page
    loaded, and every violation Chromium reports in the console (it reports each one there,
    whether or not the page runs scripts)."""

    origin: str
    policies: list[str | None] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("console", self.on_console)
        page.on("response", self.on_response)

    def on_console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(message.text)

    def on_response(self, response: Response) -> None:
        parts = urlsplit(response.url)
        if response.request.resource_type == "document" and parts.path == "/":
            assert f"{parts.scheme}://{parts.netloc}" == self.origin
            self.policies.append(response.headers.get("content-security-policy"))

    def assert_clean(self) -> None:
        assert self.violations == []
        assert self.policies, "no flow page was loaded"
        for policy in self.policies:
            assert policy is not None and "script-src 'self';" in policy, policy
            assert "unsafe" not in policy, policy


@dataclass
class Browser:
    page: Page
    cdp: CDPSession
    authenticator_id: str
    origin: str
    csp: PolicyWatch
    posts: list[dict[str, list[str]]] = field(default_factory=list)  # forms posted to /
    errors: list[str] = field(default_factory=list)  # console errors and page errors

    def on_request(self, request: Request) -> None:
        if request.method == "POST" and request.url.split("?")[0] == f"{self.origin}/":
            self.posts.append(parse_qs(request.post_data or ""))

    def on_console(self, message: Any) -> None:
        url = (message.location or {}).get("url", "")
        if message.type == "error" and urlsplit(url).path != "/favicon.ico":
            self.errors.append(f"{message.text} ({url})")

    def actions_posted(self) -> list[str]:
        """The action names of the forms posted so far, in order (``verify_passcode`` etc.)."""
        return [post["action"][0].split("@")[0] for post in self.posts]

    def last_post(self, action: str) -> dict[str, list[str]]:
        return [p for p in self.posts if p["action"][0].startswith(f"{action}@")][-1]

    def credentials(self) -> list[dict[str, Any]]:
        answer = self.cdp.send(
            "WebAuthn.getCredentials", {"authenticatorId": self.authenticator_id}
        )
        return answer["credentials"]


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def webauthn_server(live_server, settings):
    """The live server on ``http://localhost:<port>``, configured as the WebAuthn origin."""
    parts = urlsplit(live_server.url)
    assert parts.hostname == "localhost", live_server.url  # an IP is no valid RP ID
    settings.HANKOFLOW = {
        **settings.HANKOFLOW,
        "CORS": {"ALLOW_ORIGINS": [live_server.url]},
        "WEBAUTHN": {"RELYING_PARTY": {"ID": "localhost", "ORIGINS": [live_server.url]}},
        "SESSION": {"COOKIE": {"SECURE": False}},  # plain http://
    }
    return live_server


@pytest.fixture
def browser(webauthn_server) -> Iterator[Browser]:
    """A headless Chromium tab with a virtual passkey authenticator; function-scoped (see
    ``test_elements_smoke.elements`` for why)."""
    if not CHROMIUM.is_file():
        unavailable(f"{CHROMIUM} is missing: `bin/setup --with-services` installs Chromium")
    if sync_playwright is None:
        unavailable("playwright is not installed: `bin/setup` installs requirements.txt")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = chromium.new_context(viewport={"width": 1000, "height": 720})
            context.set_default_timeout(TIMEOUT_MS)
            context.set_default_navigation_timeout(TIMEOUT_MS)
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("WebAuthn.enable")
            added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": VIRTUAL_AUTHENTICATOR})
            csp = PolicyWatch(webauthn_server.url)
            tab = Browser(page, cdp, added["authenticatorId"], webauthn_server.url, csp)
            csp.watch(page)
            page.on("request", tab.on_request)
            page.on("console", tab.on_console)
            page.on("pageerror", lambda error: tab.errors.append(str(error)))
            yield tab
        finally:
            chromium.close()


# --- helpers ------------------------------------------------------------------------------------


def _screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"page-passkeys-{name}.png"), full_page=True)


def _wait_for_state(page: Page, name: str) -> None:
    expect(page.locator("section[data-state]")).to_have_attribute(
        "data-state", name, timeout=TIMEOUT_MS
    )


def _submit(page: Page, action: str) -> None:
    with page.expect_navigation():
        page.locator(f'form[data-action="{action}"] button[type=submit]').click()


def _sign_up_until_passkey_onboarding(tab: Browser, mailoutbox, email: str) -> None:
    """Registration through the page up to ``onboarding_create_passkey``."""
    page = tab.page
    page.goto(f"{tab.origin}/?flow=registration")
    _wait_for_state(page, "registration_init")  # preflight was answered by webauthn.js
    page.fill("input[name=email]", email)
    _submit(page, "register_login_identifier")
    _wait_for_state(page, "passcode_confirmation")
    page.fill("input[name=code]", last_passcode(mailoutbox, email))
    _submit(page, "verify_passcode")
    _wait_for_state(page, "password_creation")
    page.fill("input[name=new_password]", PASSWORD)
    _submit(page, "register_password")
    _wait_for_state(page, "mfa_method_chooser")
    _submit(page, "skip")
    _wait_for_state(page, "onboarding_create_passkey")


def _capabilities_reported(tab: Browser) -> dict[str, str]:
    post = tab.last_post("register_client_capabilities")
    assert sorted(post["boolean_inputs"]) == sorted(CAPABILITIES)
    return {name: post[name][0] for name in CAPABILITIES}


def _stored_passkeys() -> list[dict[str, Any]]:
    """The WebAuthn credentials in the database, read in a thread of their own.

    Playwright's sync API keeps an asyncio loop in the test's thread, where Django refuses ORM
    calls (``SynchronousOnlyOperation``); the worker thread closes its connection when done, so
    the test database can be dropped afterwards.
    """

    def read() -> list[dict[str, Any]]:
        try:
            return [
                {
                    "id": credential.id,
                    "mfa_only": credential.mfa_only,
                    "user_id": str(credential.account_id),
                    "emails": [email.address for email in credential.account.emails.all()],
                }
                for credential in WebauthnCredential.objects.select_related("account")
            ]
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(read).result()


def _claims_on_protected_page(page: Page, origin: str) -> dict[str, Any]:
    page.goto(f"{origin}/protected/")
    assert urlsplit(page.url).path == "/protected/"
    return json.loads(page.locator("[data-testid=claims]").text_content())


def _log_out(page: Page) -> None:
    with page.expect_navigation():
        page.get_by_test_id("logout").click()


# --- tests --------------------------------------------------------------------------------------


def test_sign_up_with_a_passkey_then_sign_in_with_it(browser: Browser, mailoutbox):
    """Sign up (passcode, password, no MFA, passkey) -> log out -> sign in by passkey autofill
    -> log out -> sign in with the passkey button, never typing the email again."""
    tab, page = browser, browser.page
    _sign_up_until_passkey_onboarding(tab, mailoutbox, "pia@example.com")
    # What Chromium with a virtual internal authenticator says about itself.
    assert _capabilities_reported(tab) == dict.fromkeys(CAPABILITIES, "true")
    _screenshot(page, "01-onboarding_create_passkey")

    # The button leads to onboarding_verify_passkey_attestation, where the script creates the
    # passkey and posts it without any click.
    _submit(page, "webauthn_generate_creation_options")
    _wait_for_state(page, "success")
    _screenshot(page, "02-registration-success")
    assert tab.actions_posted()[-2:] == [
        "webauthn_generate_creation_options",
        "webauthn_verify_attestation_response",
    ]
    attestation = tab.last_post("webauthn_verify_attestation_response")
    assert attestation["json_inputs"] == ["public_key"]
    public_key = json.loads(attestation["public_key"][0])
    assert public_key["type"] == "public-key" and public_key["id"] == public_key["rawId"]
    assert set(public_key["response"]) == {"clientDataJSON", "attestationObject", "transports"}
    assert public_key["response"]["transports"] == ["internal"]
    assert public_key["authenticatorAttachment"] == "platform"
    assert "=" not in public_key["response"]["attestationObject"]  # base64url, no padding

    [credential] = tab.credentials()
    assert credential["isResidentCredential"] is True
    [stored] = _stored_passkeys()
    assert stored["id"] == public_key["id"] and not stored["mfa_only"]
    assert stored["emails"] == ["pia@example.com"]
    assert "passkey" in _claims_on_protected_page(page, tab.origin)["amr"]

    # Log out: /protected/logout/ redirects to /?flow=login. There the script reports passkey
    # autofill, login_init carries request_options, and the script's conditional request is
    # answered by the virtual authenticator at once: signed in without typing anything.
    _log_out(page)
    _wait_for_state(page, "success")
    _screenshot(page, "03-login-autofill-success")
    assert tab.actions_posted()[-2:] == [
        "register_client_capabilities",
        "webauthn_verify_assertion_response",
    ]
    assertion = json.loads(
        tab.last_post("webauthn_verify_assertion_response")["assertion_response"][0]
    )
    assert assertion["id"] == stored["id"]
    assert set(assertion["response"]) == {
        "clientDataJSON",
        "authenticatorData",
        "signature",
        "userHandle",
    }
    claims = _claims_on_protected_page(page, tab.origin)
    assert claims["amr"] == ["passkey"]
    assert claims["sub"] == stored["user_id"]

    # Without autofill: login_init offers the passkey button; login_passkey runs get().
    page.add_init_script(NO_AUTOFILL)
    _log_out(page)
    _wait_for_state(page, "login_init")
    assert _capabilities_reported(tab)["webauthn_conditional_mediation_available"] == "false"
    assert page.locator("#webauthn-options").count() == 0  # no request_options, no autofill
    _screenshot(page, "04-login_init-passkey-button")
    _submit(page, "webauthn_generate_request_options")
    _wait_for_state(page, "success")
    _screenshot(page, "05-login-passkey-success")
    assert tab.actions_posted()[-2:] == [
        "webauthn_generate_request_options",
        "webauthn_verify_assertion_response",
    ]
    assert _claims_on_protected_page(page, tab.origin)["amr"] == ["passkey"]
    assert tab.credentials()[0]["signCount"] >= 2
    assert tab.errors == []
    tab.csp.assert_clean()  # with passkey creation, autofill and the passkey button


def test_a_cancelled_passkey_prompt_goes_back_and_can_be_retried(browser: Browser, mailoutbox):
    """While the prompt is open the page says so; cancelling it submits ``back`` and the page
    says why; the next attempt creates the passkey."""
    tab, page = browser, browser.page
    page.add_init_script(HOLD_FIRST_CREATE)
    _sign_up_until_passkey_onboarding(tab, mailoutbox, "carl@example.com")

    _submit(page, "webauthn_generate_creation_options")
    _wait_for_state(page, "onboarding_verify_passkey_attestation")
    status = page.locator("#webauthn-status")
    expect(status).to_have_text("Waiting for your passkey…")
    expect(status).to_be_visible()
    expect(page.locator("#webauthn-start")).to_be_hidden()  # only after a failed attempt
    expect(page.locator('form[data-action="webauthn_verify_attestation_response"]')).to_be_hidden()
    _screenshot(page, "06-waiting-for-passkey")

    with page.expect_navigation():
        page.evaluate("window.__failCreate()")
    _wait_for_state(page, "onboarding_create_passkey")
    assert urlsplit(page.url).query == "webauthn_error=NotAllowedError"
    expect(page.locator("#webauthn-error")).to_contain_text("cancelled or timed out")
    _screenshot(page, "07-cancelled-back")
    assert tab.actions_posted()[-2:] == ["webauthn_generate_creation_options", "back"]
    assert _stored_passkeys() == []

    _submit(page, "webauthn_generate_creation_options")
    _wait_for_state(page, "success")
    assert len(_stored_passkeys()) == 1
    assert len(tab.credentials()) == 1
    assert tab.errors == []
    tab.csp.assert_clean()


def test_without_javascript_the_page_still_signs_up(webauthn_server, mailoutbox):
    """No script: the ``<noscript>`` meta refresh takes preflight on the server (no WebAuthn),
    and the flow goes on as plain forms."""
    if not CHROMIUM.is_file():
        unavailable(f"{CHROMIUM} is missing: `bin/setup --with-services` installs Chromium")
    if sync_playwright is None:
        unavailable("playwright is not installed: `bin/setup` installs requirements.txt")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = chromium.new_page(java_script_enabled=False)
            page.set_default_timeout(TIMEOUT_MS)
            csp = PolicyWatch(webauthn_server.url)
            csp.watch(page)
            page.goto(f"{webauthn_server.url}/?flow=registration")
            _wait_for_state(page, "registration_init")
            assert parse_qs(urlsplit(page.url).query) == {"flow": ["registration"], "nojs": ["1"]}
            page.fill("input[name=email]", "nora@example.com")
            _submit(page, "register_login_identifier")
            _wait_for_state(page, "passcode_confirmation")
            page.fill("input[name=code]", last_passcode(mailoutbox, "nora@example.com"))
            _submit(page, "verify_passcode")
            _wait_for_state(page, "password_creation")
            page.fill("input[name=new_password]", PASSWORD)
            _submit(page, "register_password")
            # No WebAuthn reported: no passkey onboarding, no security key in the MFA chooser.
            _wait_for_state(page, "mfa_method_chooser")
            assert (
                page.locator('form[data-action="continue_to_security_key_creation"]').count() == 0
            )
            _submit(page, "skip")
            _wait_for_state(page, "success")
            _screenshot(page, "08-no-javascript-success")
            csp.assert_clean()  # the <noscript> refresh included
        finally:
            chromium.close()
