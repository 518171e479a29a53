"""A project that keeps its own login (Django's LoginView, tests/passkey_api/login_urls.py)
adds a passkey with hankoflow.contrib.passkeys and signs in with it, in Chromium.

The person signs in with their password, presses "Add a passkey" (Chromium's DevTools virtual
authenticator answers the ceremony), signs out, and presses "Sign in with a passkey" on the
login page: the page's inline script runs the Passkey API's public login endpoints and posts the
token to the LoginView, whose PasskeyBackend signs the person in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model

from hankoflow.models import AuditLogEntry, WebauthnCredential
from hankoflow.services import audit
from tests.e2e.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    outside_event_loop,
    unavailable,
)

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # skipped locally, failed in CI (support.unavailable)
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


@pytest.fixture
def host_server(live_server: Any, settings: Any) -> Any:
    """The live server as the host project: its own login page, WebAuthn on its origin."""
    assert urlsplit(live_server.url).hostname == "localhost", live_server.url
    settings.ROOT_URLCONF = "tests.passkey_api.login_urls"
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "hankoflow.contrib.passkeys.backends.PasskeyBackend",
    ]
    settings.LOGIN_REDIRECT_URL = "/home/"
    settings.HANKOFLOW = {
        **settings.HANKOFLOW,
        "WEBAUTHN": {"RELYING_PARTY": {"ID": "localhost", "ORIGINS": [live_server.url]}},
    }
    return live_server


@pytest.fixture
def page(host_server: Any) -> Iterator[tuple[Page, list[str]]]:
    """A headless Chromium tab with a virtual passkey authenticator; its errors are collected."""
    if not CHROMIUM.is_file():
        unavailable(f"{CHROMIUM} is missing: `bin/setup --with-services` installs Chromium")
    if sync_playwright is None:
        unavailable("playwright is not installed: `bin/setup` installs requirements.txt")
    errors: list[str] = []
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = chromium.new_context()
            context.set_default_timeout(TIMEOUT_MS)
            tab = context.new_page()
            cdp = context.new_cdp_session(tab)
            cdp.send("WebAuthn.enable")
            cdp.send("WebAuthn.addVirtualAuthenticator", {"options": VIRTUAL_AUTHENTICATOR})
            tab.on("pageerror", lambda error: errors.append(str(error)))
            yield tab, errors
        finally:
            chromium.close()


def test_add_a_passkey_then_sign_in_with_it_on_a_plain_login_view(
    page: tuple[Page, list[str]], host_server: Any
) -> None:
    tab, errors = page
    user = outside_event_loop(
        lambda: get_user_model().objects.create_user(username="jo", password=PASSWORD)
    )
    base = host_server.url

    # 1. The project's own password sign-in.
    tab.goto(f"{base}/login/?next=/home/")
    tab.fill("input[name=username]", "jo")
    tab.fill("input[name=password]", PASSWORD)
    tab.get_by_role("button", name="Sign in", exact=True).click()
    expect(tab.locator("#who")).to_have_text("Signed in as jo")

    # 2. Add a passkey (the virtual authenticator answers).
    tab.get_by_role("button", name="Add a passkey").click()
    expect(tab.get_by_role("status")).to_have_text("Your passkey was added.")
    credential = outside_event_loop(lambda: WebauthnCredential.objects.get(account__user=user))
    assert not credential.mfa_only

    # 3. Sign out, then sign in with the passkey alone.
    tab.get_by_role("button", name="Sign out").click()
    expect(tab.get_by_role("button", name="Sign in with a passkey")).to_be_visible()
    tab.goto(f"{base}/login/?next=/home/")
    tab.get_by_role("button", name="Sign in with a passkey").click()
    tab.wait_for_url(f"{base}/home/")
    expect(tab.locator("#who")).to_have_text("Signed in as jo")

    assert outside_event_loop(
        lambda: AuditLogEntry.objects.filter(
            type=audit.LOGIN_SUCCESS, actor_user_id=credential.account_id
        ).exists()
    )
    assert errors == []
