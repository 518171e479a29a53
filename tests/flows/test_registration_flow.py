"""Sign-up with an email address, passcode verification and a password (flow-api.md §4.2)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from hankoflow import clock
from hankoflow.models import Account, Email
from hankoflow.testing.client import FlowClient

EMAIL = "new.user@example.com"
PASSWORD = "correct horse battery"


# Passkeys are covered in test_passkeys_and_mfa.py; here the browser reports no WebAuthn, so no
# passkey step is offered or scheduled.
NO_WEBAUTHN = {"webauthn_available": False}


@pytest.fixture
def registration_init(flow_client: FlowClient):
    start = flow_client.start("registration")
    return flow_client.act(start, "register_client_capabilities", NO_WEBAUTHN)


def test_registration_init_offers_the_email_identifier(registration_init):
    action = registration_init.body["actions"]["register_login_identifier"]
    assert action["inputs"] == {
        "email": {"name": "email", "type": "email", "max_length": 120, "required": True}
    }


def test_sign_up_with_passcode_and_password(
    flow_client, registration_init, passcode_outbox, mailoutbox
):
    state = flow_client.act(
        registration_init, "register_login_identifier", {"email": f" {EMAIL.upper()} "}
    )
    assert state.state == "passcode_confirmation" and state.status == 200
    assert set(state.body["actions"]) == {"verify_passcode", "resend_passcode", "back"}
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [EMAIL]
    code = passcode_outbox(EMAIL)
    assert code and code not in str(Email.objects.all().values())  # nothing stored yet
    assert not Account.objects.exists()

    state = flow_client.act(state, "verify_passcode", {"code": code})
    assert state.state == "password_creation"
    assert "back" not in state.body["actions"]  # verified: no way back to change the address
    assert state.body["actions"]["register_password"]["inputs"]["new_password"] == {
        "name": "new_password",
        "type": "password",
        "min_length": 8,
        "required": True,
    }

    mfa = flow_client.act(state, "register_password", {"new_password": PASSWORD})
    assert mfa.state == "mfa_method_chooser"  # Hanko's defaults offer MFA at sign-up
    assert set(mfa.body["actions"]) == {"continue_to_otp_secret_creation", "skip"}
    done = flow_client.act(mfa, "skip")
    assert done.state == "success" and done.status == 200
    user = done.body["payload"]["user"]
    claims = done.body["payload"]["claims"]
    assert user["emails"][0]["address"] == EMAIL
    assert user["emails"][0]["is_verified"] and user["emails"][0]["is_primary"]
    assert claims["subject"] == user["id"] == user["user_id"]
    assert claims["amr"] == ["otp", "pwd"]
    assert "last_login" not in done.body["payload"]
    cookie = done.cookies["hanko"]
    assert cookie.value.count(".") == 2  # a JWT
    assert (
        cookie["httponly"] and cookie["samesite"].lower() == "strict" and cookie["max-age"] == 43200
    )
    assert done.headers["X-Session-Lifetime"] == "43200"
    account = Account.objects.get(id=user["id"])
    assert account.user.check_password(PASSWORD)


def test_wrong_passcode_then_max_attempts(flow_client, registration_init, passcode_outbox):
    state = flow_client.act(registration_init, "register_login_identifier", {"email": EMAIL})
    right = passcode_outbox(EMAIL)
    wrong = "000000" if right != "000000" else "111111"
    first = flow_client.act(state, "verify_passcode", {"code": wrong})
    assert (
        first.status == 400 and first.input_error("verify_passcode", "code") == "passcode_invalid"
    )
    second = flow_client.act(first, "verify_passcode", {"code": wrong})
    assert second.status == 400
    third = flow_client.act(second, "verify_passcode", {"code": wrong})
    assert third.status == 401 and third.error_code == "passcode_max_attempts_reached"
    late = flow_client.act(third, "verify_passcode", {"code": right})
    assert late.status == 401 and late.error_code == "passcode_max_attempts_reached"


def test_resend_sends_a_new_code_and_the_old_one_dies(
    flow_client, registration_init, passcode_outbox
):
    state = flow_client.act(registration_init, "register_login_identifier", {"email": EMAIL})
    old = passcode_outbox(EMAIL)
    state = flow_client.act(state, "resend_passcode")
    assert state.state == "passcode_confirmation" and state.status == 200
    new = passcode_outbox(EMAIL)
    if old != new:
        stale = flow_client.act(state, "verify_passcode", {"code": old})
        assert stale.input_error("verify_passcode", "code") == "passcode_invalid"
        state = stale
    assert flow_client.act(state, "verify_passcode", {"code": new}).state == "password_creation"


def test_resend_is_rate_limited(flow_client, registration_init):
    state = flow_client.act(registration_init, "register_login_identifier", {"email": EMAIL})
    for _ in range(2):  # 3 sends a minute: the first email and two resends
        state = flow_client.act(state, "resend_passcode")
        assert state.status == 200
    limited = flow_client.act(state, "resend_passcode")
    assert limited.status == 429 and limited.error_code == "rate_limit_exceeded"
    assert limited.state == "passcode_confirmation"
    assert 0 < limited.body["payload"]["resend_after"] <= 60


def test_back_from_passcode_returns_to_registration_init(flow_client, registration_init):
    state = flow_client.act(registration_init, "register_login_identifier", {"email": EMAIL})
    back = flow_client.act(state, "back")
    assert back.state == "registration_init" and back.status == 200


@pytest.mark.parametrize(
    ("password", "code"),
    [("short", "value_too_short_error"), ("", "value_missing_error")],
)
def test_password_policy(flow_client, registration_init, passcode_outbox, password, code):
    state = flow_client.act(registration_init, "register_login_identifier", {"email": EMAIL})
    state = flow_client.act(state, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    refused = flow_client.act(state, "register_password", {"new_password": password})
    assert refused.status == 400 and refused.state == "password_creation"
    assert refused.input_error("register_password", "new_password") == code


def test_password_longer_than_72_bytes_is_refused(flow_client, registration_init, passcode_outbox):
    state = flow_client.act(registration_init, "register_login_identifier", {"email": EMAIL})
    state = flow_client.act(state, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    refused = flow_client.act(state, "register_password", {"new_password": "ü" * 37})
    assert refused.input_error("register_password", "new_password") == "value_too_long_error"


def test_existing_email_in_privacy_mode_looks_like_a_new_one(
    flow_client, registration_init, account_factory, mailoutbox
):
    account_factory(EMAIL)
    state = flow_client.act(registration_init, "register_login_identifier", {"email": EMAIL})
    assert state.state == "passcode_confirmation" and state.status == 200
    assert mailoutbox[-1].to == [EMAIL]
    assert not any(ch.isdigit() for ch in mailoutbox[-1].subject)
    guess = flow_client.act(state, "verify_passcode", {"code": "123456"})
    assert guess.input_error("verify_passcode", "code") == "passcode_invalid"
    assert Account.objects.count() == 1


@override_settings(HANKOFLOW={"PRIVACY": {"SHOW_ACCOUNT_EXISTENCE_HINTS": True}})
def test_existing_email_with_existence_hints(flow_client, registration_init, account_factory):
    account_factory(EMAIL)
    refused = flow_client.act(registration_init, "register_login_identifier", {"email": EMAIL})
    assert refused.status == 400
    assert refused.input_error("register_login_identifier", "email") == "email_already_exists"


def test_signup_can_be_switched_off(flow_client):
    with override_settings(HANKOFLOW={"ACCOUNT": {"ALLOW_SIGNUP": False}}):
        start = flow_client.start("registration")
        state = flow_client.act(start, "register_client_capabilities", NO_WEBAUTHN)
    assert "register_login_identifier" not in state.body["actions"]


@override_settings(
    HANKOFLOW={
        "EMAIL": {"REQUIRE_VERIFICATION": False},
        "PASSWORD": {"ACQUIRE_ON_REGISTRATION": "never"},
        "MFA": {"ENABLED": False},
    }
)
def test_without_verification_or_password_the_account_is_created_at_once(
    flow_client, registration_init, mailoutbox
):
    done = flow_client.act(registration_init, "register_login_identifier", {"email": EMAIL})
    assert done.state == "success"
    assert mailoutbox == []
    assert done.body["payload"]["user"]["emails"][0]["is_verified"] is False


@override_settings(HANKOFLOW={"USERNAME": {"ENABLED": True}})
@pytest.mark.parametrize(
    ("username", "code"), [("no spaces", "invalid_username_error"), ("ab", "value_too_short_error")]
)
def test_username_rules(flow_client, registration_init, username, code):
    refused = flow_client.act(
        registration_init, "register_login_identifier", {"email": EMAIL, "username": username}
    )
    assert refused.input_error("register_login_identifier", "username") == code


def test_the_new_session_is_request_user_in_django_and_drf(
    flow_client, registration_init, passcode_outbox
):
    state = flow_client.act(registration_init, "register_login_identifier", {"email": EMAIL})
    state = flow_client.act(state, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    mfa = flow_client.act(state, "register_password", {"new_password": PASSWORD})
    done = flow_client.act(mfa, "skip")
    user_id = done.body["payload"]["user"]["id"]
    page = flow_client.client.get("/protected/")  # the same browser, now holding the cookie
    assert page.status_code == 200 and EMAIL in page.content.decode()
    whoami = flow_client.client.get("/api/whoami").json()
    assert whoami["user_id"] == user_id
    token = done.cookies["hanko"].value
    bearer = flow_client.client.__class__().get(
        "/api/whoami", headers={"Authorization": f"Bearer {token}"}
    )
    assert bearer.status_code == 200 and bearer.json()["user_id"] == user_id


def test_expired_passcode_is_refused(flow_client, registration_init, passcode_outbox):
    from datetime import timedelta

    from hankoflow.models import Passcode

    state = flow_client.act(registration_init, "register_login_identifier", {"email": EMAIL})
    Passcode.objects.update(expires_at=clock.now() - timedelta(seconds=1))
    late = flow_client.act(state, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    assert late.status == 400 and late.input_error("verify_passcode", "code") == "passcode_invalid"
    again = flow_client.act(late, "resend_passcode")
    assert flow_client.act(again, "verify_passcode", {"code": passcode_outbox(EMAIL)}).state == (
        "password_creation"
    )


def test_optional_password_can_be_skipped_when_email_login_remains(
    flow_client, registration_init, passcode_outbox, settings
):
    settings.HANKOFLOW = {"PASSWORD": {"OPTIONAL": True}, "MFA": {"ENABLED": False}}
    state = flow_client.act(registration_init, "register_login_identifier", {"email": EMAIL})
    state = flow_client.act(state, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    assert state.state == "password_creation" and "skip" in state.body["actions"]
    done = flow_client.act(state, "skip")
    assert done.state == "success"
    assert done.body["payload"]["claims"]["amr"] == ["otp"]


def test_required_password_offers_no_skip(flow_client, registration_init, passcode_outbox):
    state = flow_client.act(registration_init, "register_login_identifier", {"email": EMAIL})
    state = flow_client.act(state, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    assert "skip" not in state.body["actions"]
    after = flow_client.act(state, "register_password", {"new_password": PASSWORD})
    assert after.state == "mfa_method_chooser"
