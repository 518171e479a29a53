"""``passcode_confirmation`` entered while the passcode send limit is spent (flow-api.md
§4.0.2.11 step 3): the state stays usable, and only a code sent to the flow's current address can
verify it.

The limit is 3 sends a minute per client IP and address (``RATE_LIMITER.PASSCODE_LIMITS``), so
three flows that each send a code spend it and a fourth enters the state without a passcode.
Clearing the rate-limit cache stands in for the minute passing.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.cache import caches

from hankoflow.conf import settings as hankoflow_settings
from hankoflow.models import Email, Session
from hankoflow.testing.client import FlowClient, FlowResponse

EMAIL = "jane@example.com"
OTHER = "mallory@example.com"
PASSWORD = "a long enough password"
NO_WEBAUTHN = {"webauthn_available": False}


def start(flow_client: FlowClient, flow: str) -> FlowResponse:
    return flow_client.act(flow_client.start(flow), "register_client_capabilities", NO_WEBAUTHN)


def the_minute_passes() -> None:
    caches[hankoflow_settings.RATE_LIMITER.CACHE].clear()


# Each path: prepare the database, then walk a new flow up to the action that enters
# passcode_confirmation; returns (state before that action, the action, its inputs).
Path = Callable[[FlowClient], tuple[FlowResponse, str, dict]]


def login_path(flow_client: FlowClient):
    state = start(flow_client, "login")
    state = flow_client.act(state, "continue_with_login_identifier", {"email": EMAIL})
    return state, "continue_to_passcode_confirmation", {}


def recovery_path(flow_client: FlowClient):
    state = start(flow_client, "login")
    state = flow_client.act(state, "continue_with_login_identifier", {"email": EMAIL})
    state = flow_client.act(state, "continue_to_password_login")
    return state, "continue_to_passcode_confirmation_recovery", {}


def registration_path(flow_client: FlowClient):
    return start(flow_client, "registration"), "register_login_identifier", {"email": EMAIL}


def onboarding_email_path(flow_client: FlowClient):
    state = start(flow_client, "login")
    state = flow_client.act(state, "continue_with_login_identifier", {"identifier": "solo"})
    state = flow_client.act(state, "password_login", {"password": PASSWORD})
    assert state.state == "onboarding_email"
    return state, "email_address_set", {"email": EMAIL}


PATHS = {
    "login": (login_path, "login_method_chooser", "success"),
    "recovery": (recovery_path, "login_password", "login_password_recovery"),
    "registration": (registration_path, "registration_init", "password_creation"),
    "onboarding_email": (onboarding_email_path, "onboarding_email", "success"),
}


@pytest.fixture
def setup_path(account_factory, settings):
    def setup(name: str):
        if name in ("login", "recovery"):
            account_factory(EMAIL, password=PASSWORD)
        elif name == "onboarding_email":
            settings.HANKOFLOW = {"USERNAME": {"ENABLED": True}}
            account_factory(None, username="solo", password=PASSWORD)
        return PATHS[name]

    return setup


def enter(flow_client: FlowClient, path: Path) -> FlowResponse:
    state, action, inputs = path(flow_client)
    return flow_client.act(state, action, inputs)


@pytest.mark.parametrize("name", list(PATHS))
def test_rate_limited_passcode_confirmation_stays_usable(
    flow_client, setup_path, passcode_outbox, mailoutbox, name
):
    path, previous_state, after_verify = setup_path(name)
    for _ in range(3):
        assert enter(flow_client, path).status == 200
    sent = len(mailoutbox)

    limited = enter(flow_client, path)
    assert limited.status == 429 and limited.state == "passcode_confirmation"
    assert limited.error_code == "rate_limit_exceeded"
    assert 0 < limited.body["payload"]["resend_after"] <= 60
    assert len(mailoutbox) == sent  # no email, no passcode

    guess = flow_client.act(limited, "verify_passcode", {"code": "123456"})
    assert guess.status == 400 and guess.state == "passcode_confirmation"
    assert guess.error_code == "form_data_invalid_error"
    assert guess.input_error("verify_passcode", "code") == "passcode_invalid"

    still_limited = flow_client.act(guess, "resend_passcode")
    assert still_limited.status == 429 and still_limited.state == "passcode_confirmation"

    back = flow_client.act(still_limited, "back")
    assert back.status == 200 and back.state == previous_state

    the_minute_passes()
    _, action, inputs = path(flow_client)  # a new flow's way in: the action and inputs to repeat
    again = flow_client.act(back, action, inputs)
    assert again.status == 200 and again.state == "passcode_confirmation"
    done = flow_client.act(again, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    assert done.state == after_verify, done.body.get("error")


@pytest.mark.parametrize("name", list(PATHS))
def test_resend_works_once_the_limit_allows(
    flow_client, setup_path, passcode_outbox, mailoutbox, name
):
    path, _, after_verify = setup_path(name)
    for _ in range(3):
        enter(flow_client, path)
    limited = enter(flow_client, path)
    assert limited.status == 429

    the_minute_passes()
    resent = flow_client.act(limited, "resend_passcode")
    assert resent.status == 200 and resent.state == "passcode_confirmation"
    assert resent.error_code is None
    done = flow_client.act(resent, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    assert done.state == after_verify, done.body.get("error")


def test_a_code_for_another_address_cannot_sign_in_after_a_limited_send(
    flow_client, passcode_outbox, mailoutbox, account_factory
):
    """The code of the address entered first must not verify the one entered after ``back``."""
    victim = account_factory(EMAIL, password=PASSWORD)
    account_factory(OTHER, password=PASSWORD)
    for _ in range(3):  # spend the victim's send limit from this IP (the victim gets 3 codes)
        enter(flow_client, login_path)

    state = start(flow_client, "login")
    state = flow_client.act(state, "continue_with_login_identifier", {"email": OTHER})
    state = flow_client.act(state, "continue_to_passcode_confirmation")
    own_code = passcode_outbox(OTHER)
    state = flow_client.act(flow_client.act(state, "back"), "back")
    assert state.state == "login_init"
    state = flow_client.act(state, "continue_with_login_identifier", {"email": EMAIL})
    limited = flow_client.act(state, "continue_to_passcode_confirmation")
    assert limited.status == 429

    attempt = flow_client.act(limited, "verify_passcode", {"code": own_code})
    assert attempt.state == "passcode_confirmation"
    assert attempt.input_error("verify_passcode", "code") == "passcode_invalid"
    assert "hanko" not in attempt.cookies
    assert not Session.objects.filter(account=victim).exists()


def test_a_code_for_another_address_cannot_verify_a_sign_up(flow_client, passcode_outbox):
    for _ in range(3):
        enter(flow_client, registration_path)
    state = start(flow_client, "registration")
    state = flow_client.act(state, "register_login_identifier", {"email": OTHER})
    own_code = passcode_outbox(OTHER)
    state = flow_client.act(state, "back")
    limited = flow_client.act(state, "register_login_identifier", {"email": EMAIL})
    assert limited.status == 429

    attempt = flow_client.act(limited, "verify_passcode", {"code": own_code})
    assert attempt.input_error("verify_passcode", "code") == "passcode_invalid"
    assert not Email.objects.filter(address=EMAIL).exists()
