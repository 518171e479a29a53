"""Sign-in by email passcode or password, recovery, and the privacy rules (flow-api.md §4.1)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from hankoflow.testing.client import FlowClient

EMAIL = "jane@example.com"
PASSWORD = "a long enough password"


# Passkeys are covered in test_passkeys_and_mfa.py; here the browser reports no WebAuthn, so no
# passkey step is offered or scheduled.
NO_WEBAUTHN = {"webauthn_available": False}


@pytest.fixture
def login_init(flow_client: FlowClient):
    start = flow_client.start("login")
    return flow_client.act(start, "register_client_capabilities", NO_WEBAUTHN)


def identify(flow_client, login_init, email=EMAIL):
    return flow_client.act(login_init, "continue_with_login_identifier", {"email": email})


def test_login_init_offers_the_email_identifier(login_init):
    assert login_init.body["actions"]["continue_with_login_identifier"]["inputs"] == {
        "email": {
            "name": "email",
            "type": "email",
            "min_length": 3,
            "max_length": 120,
            "required": True,
        }
    }


def test_passcode_login(flow_client, login_init, account_factory, passcode_outbox, client):
    account = account_factory(EMAIL)
    chooser = identify(flow_client, login_init, " Jane@Example.com ")
    assert chooser.state == "login_method_chooser"
    assert set(chooser.body["actions"]) == {
        "continue_to_password_login",
        "continue_to_passcode_confirmation",
        "back",
    }  # and webauthn_generate_request_options when the browser can use passkeys
    state = flow_client.act(chooser, "continue_to_passcode_confirmation")
    assert state.state == "passcode_confirmation"
    done = flow_client.act(state, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    assert done.state == "success"
    assert done.body["payload"]["claims"]["amr"] == ["otp"]
    assert done.body["payload"]["last_login"] == {"login_method": "passcode"}
    assert done.body["payload"]["user"]["id"] == str(account.id)


def test_password_login(flow_client, login_init, account_factory):
    account_factory(EMAIL, password=PASSWORD)
    chooser = identify(flow_client, login_init)
    state = flow_client.act(chooser, "continue_to_password_login")
    assert state.state == "login_password"
    wrong = flow_client.act(state, "password_login", {"password": "not it"})
    assert wrong.status == 400 and wrong.state == "login_password"
    assert wrong.input_error("password_login", "password") == "value_invalid_error"
    done = flow_client.act(wrong, "password_login", {"password": PASSWORD})
    assert done.state == "success"
    assert done.body["payload"]["claims"]["amr"] == ["pwd"]
    assert done.body["payload"]["last_login"] == {"login_method": "password"}


@pytest.mark.parametrize("setup", ["unknown", "no_password", "inactive"])
def test_every_password_failure_answers_the_same(flow_client, login_init, account_factory, setup):
    if setup == "no_password":
        account_factory(EMAIL)
    elif setup == "inactive":
        account = account_factory(EMAIL, password=PASSWORD)
        account.user.is_active = False
        account.user.save()
    chooser = identify(flow_client, login_init)
    state = flow_client.act(chooser, "continue_to_password_login")
    wrong = flow_client.act(state, "password_login", {"password": PASSWORD})
    assert wrong.status == 400
    assert wrong.input_error("password_login", "password") == "value_invalid_error"


def test_password_login_is_rate_limited(flow_client, login_init, account_factory):
    account_factory(EMAIL, password=PASSWORD)
    state = flow_client.act(identify(flow_client, login_init), "continue_to_password_login")
    for _ in range(5):
        state = flow_client.act(state, "password_login", {"password": "wrong"})
        assert state.status == 400
    limited = flow_client.act(state, "password_login", {"password": PASSWORD})
    assert limited.status == 429 and limited.error_code == "rate_limit_exceeded"
    assert 0 < limited.body["payload"]["retry_after"] <= 60


def test_unknown_email_walks_the_same_path_and_gets_a_notice(
    flow_client, login_init, mailoutbox, passcode_outbox
):
    chooser = identify(flow_client, login_init, "nobody@example.com")
    assert chooser.state == "login_method_chooser" and chooser.status == 200
    state = flow_client.act(chooser, "continue_to_passcode_confirmation")
    assert state.state == "passcode_confirmation" and state.status == 200
    assert passcode_outbox("nobody@example.com") is None  # a notice, no code
    guess = flow_client.act(state, "verify_passcode", {"code": "123456"})
    assert guess.input_error("verify_passcode", "code") == "passcode_invalid"


@override_settings(HANKOFLOW={"PRIVACY": {"SHOW_ACCOUNT_EXISTENCE_HINTS": True}})
def test_unknown_email_with_existence_hints(flow_client, login_init):
    refused = identify(flow_client, login_init, "nobody@example.com")
    assert refused.input_error("continue_with_login_identifier", "email") == "unknown_email_error"


def test_password_recovery(flow_client, login_init, account_factory, passcode_outbox, mailoutbox):
    account_factory(EMAIL, password="the old password")
    state = flow_client.act(identify(flow_client, login_init), "continue_to_password_login")
    state = flow_client.act(state, "continue_to_passcode_confirmation_recovery")
    assert state.state == "passcode_confirmation"
    state = flow_client.act(state, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    assert state.state == "login_password_recovery"
    assert state.body["actions"]["password_recovery"]["inputs"]["new_password"] == {
        "name": "new_password",
        "type": "password",
        "min_length": 8,
        "max_length": 72,
        "required": True,
    }
    done = flow_client.act(state, "password_recovery", {"new_password": "the new password"})
    assert done.state == "success"
    # The owner hears of the change (security notification password_update).
    assert "Your password has been updated" in mailoutbox[-1].subject
    again = FlowClient()
    start = again.start("login")
    init = again.act(start, "register_client_capabilities", NO_WEBAUTHN)
    chooser = again.act(init, "continue_with_login_identifier", {"email": EMAIL})
    state = again.act(chooser, "continue_to_password_login")
    assert again.act(state, "password_login", {"password": "the new password"}).state == "success"


@override_settings(HANKOFLOW={"PRIVACY": {"ONLY_SHOW_ACTUAL_LOGIN_METHODS": True}})
def test_only_actual_methods_goes_straight_to_the_passcode(
    flow_client, login_init, account_factory
):
    account_factory(EMAIL)  # no password: the passcode is the only way
    state = identify(flow_client, login_init)
    assert state.state == "passcode_confirmation"


def test_login_by_username_and_unknown_username(flow_client, account_factory, settings):
    settings.HANKOFLOW = {"USERNAME": {"ENABLED": True}}
    account_factory(EMAIL, password=PASSWORD, username="jane_doe")
    start = flow_client.start("login")
    login_init = flow_client.act(start, "register_client_capabilities", NO_WEBAUTHN)
    inputs = login_init.body["actions"]["continue_with_login_identifier"]["inputs"]
    assert inputs == {
        "identifier": {"name": "identifier", "type": "string", "max_length": 255, "required": True}
    }
    unknown = flow_client.act(login_init, "continue_with_login_identifier", {"identifier": "ghost"})
    assert (
        unknown.input_error("continue_with_login_identifier", "identifier")
        == "unknown_username_error"
    )
    chooser = flow_client.act(unknown, "continue_with_login_identifier", {"identifier": "Jane_Doe"})
    assert chooser.state == "login_method_chooser"


def test_user_without_email_is_asked_for_one_after_login(
    flow_client, account_factory, settings, passcode_outbox
):
    """A username-only account gets ``onboarding_email``, verified by a passcode."""
    settings.HANKOFLOW = {"USERNAME": {"ENABLED": True}}
    account_factory(None, username="solo", verified=False, password=PASSWORD)
    start = flow_client.start("login")
    init = flow_client.act(start, "register_client_capabilities", NO_WEBAUTHN)
    state = flow_client.act(init, "continue_with_login_identifier", {"identifier": "solo"})
    assert state.state == "login_password"  # no email: the password is the only way
    state = flow_client.act(state, "password_login", {"password": PASSWORD})
    assert state.state == "onboarding_email"
    assert state.body["actions"]["email_address_set"]["inputs"]["email"]["value"] is None
    state = flow_client.act(state, "email_address_set", {"email": "solo@example.com"})
    assert state.state == "passcode_confirmation"
    done = flow_client.act(state, "verify_passcode", {"code": passcode_outbox("solo@example.com")})
    assert done.state == "success"
    emails = done.body["payload"]["user"]["emails"]
    assert [(e["address"], e["is_verified"], e["is_primary"]) for e in emails] == [
        ("solo@example.com", True, True)
    ]
