"""What a rate-limited step answers, per bucket (flow-api.md §5, ``rate_limit_exceeded``): 429 in
the same state, with the wait in the payload as ``retry_after`` (password, TOTP) or
``resend_after`` (sending a passcode), and nothing else in the payload."""

from __future__ import annotations

import pyotp
import pytest
from django.test import override_settings

from hankoflow.testing.client import FlowClient

EMAIL = "jane@example.com"
PASSWORD = "a long enough password"
NO_WEBAUTHN = {"webauthn_available": False}


def one_a_minute(bucket: str) -> dict:
    return {"RATE_LIMITER": {f"{bucket}_LIMITS": {"TOKENS": 1, "INTERVAL": 60}}}


def identified(flow_client: FlowClient):
    start = flow_client.act(flow_client.start("login"), "register_client_capabilities", NO_WEBAUTHN)
    return flow_client.act(start, "continue_with_login_identifier", {"email": EMAIL})


def assert_limited(answer, state: str, payload_key: str) -> None:
    assert answer.status == 429 and answer.state == state
    assert answer.error_code == "rate_limit_exceeded"
    assert set(answer.body["payload"]) == {payload_key}
    assert isinstance(answer.body["payload"][payload_key], int)
    assert 0 < answer.body["payload"][payload_key] <= 60


def test_password_login_answers_retry_after(flow_client, account_factory):
    account_factory(EMAIL, password=PASSWORD)
    with override_settings(HANKOFLOW=one_a_minute("PASSWORD")):
        state = flow_client.act(identified(flow_client), "continue_to_password_login")
        state = flow_client.act(state, "password_login", {"password": "wrong"})
        assert state.status == 400
        limited = flow_client.act(state, "password_login", {"password": PASSWORD})
    assert_limited(limited, "login_password", "retry_after")


def test_entering_passcode_confirmation_answers_resend_after(flow_client, account_factory):
    account_factory(EMAIL, password=PASSWORD)
    with override_settings(HANKOFLOW=one_a_minute("PASSCODE")):
        assert (
            flow_client.act(identified(flow_client), "continue_to_passcode_confirmation").status
            == 200
        )
        limited = flow_client.act(identified(flow_client), "continue_to_passcode_confirmation")
    assert_limited(limited, "passcode_confirmation", "resend_after")


def test_resend_passcode_answers_resend_after(flow_client, account_factory):
    account_factory(EMAIL, password=PASSWORD)
    with override_settings(HANKOFLOW=one_a_minute("PASSCODE")):
        state = flow_client.act(identified(flow_client), "continue_to_passcode_confirmation")
        assert state.status == 200
        limited = flow_client.act(state, "resend_passcode")
    assert_limited(limited, "passcode_confirmation", "resend_after")


@pytest.fixture
def at_login_otp(flow_client, account_factory):
    secret = pyotp.random_base32()
    account_factory(EMAIL, password=PASSWORD, totp=secret)
    state = flow_client.act(identified(flow_client), "continue_to_password_login")
    state = flow_client.act(state, "password_login", {"password": PASSWORD})
    assert state.state == "login_otp"
    return state, secret


def test_otp_code_validate_answers_retry_after(flow_client, at_login_otp, clock):
    state, secret = at_login_otp
    now = clock.timestamp()
    valid = {pyotp.TOTP(secret).at(now + 30 * step) for step in (-1, 0, 1)}
    code = next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)
    with override_settings(HANKOFLOW=one_a_minute("OTP")):
        wrong = flow_client.act(state, "otp_code_validate", {"otp_code": code})
        assert wrong.status == 400
        limited = flow_client.act(wrong, "otp_code_validate", {"otp_code": code})
    assert_limited(limited, "login_otp", "retry_after")
