"""WebAuthn checks of ../shared/spec/security-checks.md §4 D (WA-01 ... WA-10) that the suites
elsewhere do not already prove; docs/security-checks.md maps every check to its tests."""

from __future__ import annotations

import json

import pyotp
import pytest
from django.test import Client

from hankoflow.models import Session
from hankoflow.testing.client import FlowClient
from hankoflow.testing.webauthn import SoftAuthenticator

ORIGIN = "http://localhost:8000"  # tests/settings.py: RP "localhost", this origin allowed
EMAIL = "pat@example.com"
PASSWORD = "a long enough password"
WEBAUTHN = {"webauthn_available": True, "webauthn_platform_authenticator_available": True}


@pytest.fixture
def device() -> SoftAuthenticator:
    return SoftAuthenticator(ORIGIN)


def passkey_login(flow_client: FlowClient, **headers):
    state = flow_client.act(flow_client.start("login"), "register_client_capabilities", WEBAUTHN)
    state = flow_client.act(state, "webauthn_generate_request_options", **headers)
    assert state.state == "login_passkey"
    return state


# --- WA-02 the expected origin comes from the configuration, never from the request ---------------


def test_request_headers_do_not_widen_the_accepted_origins(account_factory, device):
    account_factory(EMAIL, passkey=device)
    client = FlowClient()
    forged = {"Origin": "https://evil.example", "X-Forwarded-Host": "evil.example"}
    state = passkey_login(client, **forged)
    response = device.get(state.body["payload"]["request_options"], origin="https://evil.example")
    refused = client.act(
        state, "webauthn_verify_assertion_response", {"assertion_response": response}, **forged
    )
    assert refused.error_code == "passkey_invalid"
    assert Session.objects.count() == 0


# --- WA-04 a passkey without user verification is one factor only ---------------------------------


def test_required_user_verification_refuses_a_presence_only_passkey(
    account_factory, device, settings
):
    settings.HANKOFLOW = {**settings.HANKOFLOW, "PASSKEY": {"USER_VERIFICATION": "required"}}
    account_factory(EMAIL, passkey=device)
    client = FlowClient()
    state = passkey_login(client)
    options = state.body["payload"]["request_options"]
    assert options["publicKey"]["userVerification"] == "required"
    response = device.get(options, user_verified=False)
    refused = client.act(
        state, "webauthn_verify_assertion_response", {"assertion_response": response}
    )
    assert refused.error_code == "passkey_invalid"
    assert Session.objects.count() == 0


def test_a_presence_only_passkey_does_not_skip_an_enrolled_second_factor(account_factory, device):
    """FL-08 and WA-04: a passkey counts as two factors only when it verified the user; with
    Hanko's default ``preferred`` an authenticator may answer without, and the account's
    enrolled app is then asked for, as after a password."""
    secret = pyotp.random_base32()
    account_factory(EMAIL, password=PASSWORD, passkey=device, totp=secret)
    client = FlowClient()
    state = passkey_login(client)
    response = device.get(state.body["payload"]["request_options"], user_verified=False)
    state = client.act(
        state, "webauthn_verify_assertion_response", {"assertion_response": response}
    )
    assert state.state == "login_otp"
    assert Session.objects.count() == 0
    done = client.act(state, "otp_code_validate", {"otp_code": pyotp.TOTP(secret).now()})
    assert done.state == "device_trust"  # as after a password: the app may be remembered
    done = client.act(done, "skip")
    while done.state != "success":
        done = client.act(done, "skip")
    assert done.body["payload"]["claims"]["amr"] == ["passkey", "totp"]


def test_a_user_verifying_passkey_is_both_factors(account_factory, device):
    account_factory(EMAIL, password=PASSWORD, passkey=device, totp=pyotp.random_base32())
    client = FlowClient()
    state = passkey_login(client)
    response = device.get(state.body["payload"]["request_options"])
    done = client.act(state, "webauthn_verify_assertion_response", {"assertion_response": response})
    assert done.state == "success"
    assert done.body["payload"]["claims"]["amr"] == ["passkey"]


def test_the_legacy_passkey_login_does_not_skip_an_enrolled_second_factor(
    account_factory, device, settings
):
    """Hanko v2's ``/webauthn/login/finalize`` signs in with the passkey alone: with MFA on,
    only a passkey that verified the user may do that for an account with a second factor."""
    settings.HANKOFLOW = {**settings.HANKOFLOW, "LEGACY_API": {"ENABLED": True}}
    account_factory(EMAIL, passkey=device, totp=pyotp.random_base32())

    def login(**get) -> int:
        client = Client()
        options = client.post("/webauthn/login/initialize", "{}", content_type="application/json")
        assertion = device.get(options.json(), **get)
        return client.post(
            "/webauthn/login/finalize", json.dumps(assertion), content_type="application/json"
        ).status_code

    assert login(user_verified=False) == 401
    assert Session.objects.count() == 0
    assert login() == 200
    assert Session.objects.count() == 1
