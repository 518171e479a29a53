"""hankoflow.contrib.passkeys: the backend, the LoginView mixin and "Add a passkey"."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.test import Client

from hankoflow.models import WebauthnCredential
from hankoflow.testing.webauthn import SoftAuthenticator
from tests.passkey_api.conftest import Api

BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "hankoflow.contrib.passkeys.backends.PasskeyBackend",
]


@pytest.fixture(autouse=True)
def _host(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.passkey_api.login_urls"
    settings.AUTHENTICATION_BACKENDS = BACKENDS
    settings.LOGIN_REDIRECT_URL = "/home/"


def login_token(api: Api, device: SoftAuthenticator) -> str:
    assertion = device.get(api.login_options())
    answer = api.post("/credentials/login/finalize", assertion, key=False)
    assert answer.status_code == 200, answer.json()
    return answer.json()["token"]


def test_the_backend_turns_a_login_token_into_the_user_once(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    api.register(host_user, soft_authenticator)
    token = login_token(api, soft_authenticator)
    assert authenticate(None, passkey_token=token) == host_user
    assert authenticate(None, passkey_token=token) is None  # used


def test_the_backend_refuses_other_tokens(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    registration_token = api.register(host_user, soft_authenticator)
    assert authenticate(None, passkey_token=registration_token) is None
    assert authenticate(None, passkey_token="not.a.token") is None
    assert authenticate(None, passkey_token=12) is None
    token = login_token(api, soft_authenticator)
    assert authenticate(None, passkey_token=token[:-2] + "AA") is None


def test_the_backend_refuses_an_inactive_user_or_a_removed_passkey(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    api.register(host_user, soft_authenticator)
    token = login_token(api, soft_authenticator)
    host_user.is_active = False
    host_user.save()
    assert authenticate(None, passkey_token=token) is None
    host_user.is_active = True
    host_user.save()
    token = login_token(api, soft_authenticator)
    WebauthnCredential.objects.all().delete()
    assert authenticate(None, passkey_token=token) is None


def test_the_backend_refuses_an_expired_token(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator, clock: Any
) -> None:
    api.register(host_user, soft_authenticator)
    token = login_token(api, soft_authenticator)
    clock.advance(seconds=61)
    assert authenticate(None, passkey_token=token) is None


def test_the_login_view_signs_in_with_a_passkey_token(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    api.register(host_user, soft_authenticator)
    browser = Client()
    page = browser.get("/login/?next=/home/")
    assert b"Sign in with a passkey" in page.content
    assert b'data-options-url="/passkeys/credentials/login/initialize"' in page.content

    answer = browser.post(
        "/login/?next=/home/",
        {"passkey_token": login_token(api, soft_authenticator), "next": "/home/"},
    )

    assert answer.status_code == 302
    assert answer["Location"] == "/home/"
    assert b"Signed in as jo" in browser.get("/home/").content


def test_the_login_view_refuses_a_bad_token_and_keeps_passwords(host_user: Any) -> None:
    browser = Client()
    answer = browser.post("/login/", {"passkey_token": "forged"})
    assert answer.status_code == 400
    assert b"did not work" in answer.content
    assert b"Signed out" in browser.get("/home/").content
    answer = browser.post("/login/", {"username": "jo", "password": "pw-unused-123"})
    assert answer.status_code == 302


def test_a_signed_in_user_adds_a_passkey(
    host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    browser = Client()
    browser.force_login(host_user, backend=BACKENDS[0])
    options = browser.post("/account/passkeys/register/options", content_type="application/json")
    assert options.status_code == 200
    assert options.json()["publicKey"]["user"]["name"] == "jo"
    created = soft_authenticator.create(options.json())
    answer = browser.post("/account/passkeys/register", created, content_type="application/json")
    assert answer.status_code == 200, answer.json()
    assert WebauthnCredential.objects.get(account__user=host_user).pk == created["id"]


def test_adding_a_passkey_needs_a_signed_in_user(db: None) -> None:
    answer = Client().post("/account/passkeys/register/options")
    assert answer.status_code == 401


def test_a_ceremony_of_another_user_is_not_stored_for_the_signed_in_one(
    host_user: Any, other_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    theirs = Client()
    theirs.force_login(other_user, backend=BACKENDS[0])
    options = theirs.post("/account/passkeys/register/options").json()
    created = soft_authenticator.create(options)
    mine = Client()
    mine.force_login(host_user, backend=BACKENDS[0])
    answer = mine.post("/account/passkeys/register", created, content_type="application/json")
    assert answer.status_code == 400
    assert not WebauthnCredential.objects.exists()


def test_the_register_endpoint_checks_csrf(host_user: Any) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(host_user, backend=BACKENDS[0])
    assert browser.post("/account/passkeys/register/options").status_code == 403
