"""Passkeys, security keys, TOTP and device trust through the flows (flow-api.md §4.0.2.3,
§4.0.3, §4.0.5-§4.0.7, §4.1.3), with real WebAuthn responses from a software authenticator."""

from __future__ import annotations

import pyotp
import pytest

from hankoflow import clock
from hankoflow.models import OTPSecret, WebauthnCredential
from hankoflow.testing.client import FlowClient
from hankoflow.testing.webauthn import SoftAuthenticator

ORIGIN = "http://localhost:8000"  # tests/settings.py: RP "localhost", this origin allowed
EMAIL = "pat@example.com"
PASSWORD = "a long enough password"
WEBAUTHN = {"webauthn_available": True, "webauthn_platform_authenticator_available": True}


@pytest.fixture
def device() -> SoftAuthenticator:
    return SoftAuthenticator(ORIGIN)


def start(flow_client: FlowClient, flow: str, **capabilities):
    first = flow_client.start(flow)
    return flow_client.act(first, "register_client_capabilities", {**WEBAUTHN, **capabilities})


def sign_up_to_mfa_chooser(flow_client, passcode_outbox):
    state = start(flow_client, "registration")
    state = flow_client.act(state, "register_login_identifier", {"email": EMAIL})
    state = flow_client.act(state, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    state = flow_client.act(state, "register_password", {"new_password": PASSWORD})
    assert state.state == "mfa_method_chooser"
    return state


def create_passkey(flow_client, state, device, **kwargs):
    assert state.state == "onboarding_create_passkey"
    state = flow_client.act(state, "webauthn_generate_creation_options")
    assert state.state == "onboarding_verify_passkey_attestation"
    options = state.body["payload"]["creation_options"]
    return flow_client.act(
        state,
        "webauthn_verify_attestation_response",
        {"public_key": device.create(options, **kwargs)},
    )


def test_sign_up_follows_hankos_default_sequence_and_adds_a_passkey(
    flow_client, passcode_outbox, device
):
    state = sign_up_to_mfa_chooser(flow_client, passcode_outbox)
    state = flow_client.act(state, "skip")
    state = create_passkey(flow_client, state, device)
    assert state.state == "success" and state.status == 200
    user = state.body["payload"]["user"]
    assert len(user["passkeys"]) == 1 and "security_keys" not in user
    assert state.body["payload"]["claims"]["amr"] == ["otp", "pwd", "passkey"]
    options = state.body["payload"]  # nothing WebAuthn-related leaks into success
    assert "creation_options" not in options
    assert WebauthnCredential.objects.filter(mfa_only=False).count() == 1


def test_passkey_login_needs_no_second_factor(flow_client, passcode_outbox, device):
    state = sign_up_to_mfa_chooser(flow_client, passcode_outbox)
    create_passkey(flow_client, flow_client.act(state, "skip"), device)
    login = FlowClient()
    state = start(login, "login")
    assert "webauthn_generate_request_options" in state.body["actions"]
    state = login.act(state, "webauthn_generate_request_options")
    assert state.state == "login_passkey"
    options = state.body["payload"]["request_options"]
    assert "allowCredentials" not in options["publicKey"]  # discoverable
    done = login.act(
        state, "webauthn_verify_assertion_response", {"assertion_response": device.get(options)}
    )
    assert done.state == "success"
    assert done.body["payload"]["claims"]["amr"] == ["passkey"]
    assert done.body["payload"]["last_login"] == {"login_method": "passkey"}


def test_passkey_autofill_from_login_init(flow_client, passcode_outbox, device):
    state = sign_up_to_mfa_chooser(flow_client, passcode_outbox)
    create_passkey(flow_client, flow_client.act(state, "skip"), device)
    login = FlowClient()
    state = start(login, "login", webauthn_conditional_mediation_available=True)
    options = state.body["payload"]["request_options"]
    done = login.act(
        state, "webauthn_verify_assertion_response", {"assertion_response": device.get(options)}
    )
    assert done.state == "success"


@pytest.mark.parametrize(
    "tamper",
    [{"origin": "http://evil.example"}, {"corrupt_signature": True}, {"rp_id": "evil.example"}],
)
def test_tampered_assertions_are_refused(flow_client, passcode_outbox, device, tamper):
    state = sign_up_to_mfa_chooser(flow_client, passcode_outbox)
    create_passkey(flow_client, flow_client.act(state, "skip"), device)
    login = FlowClient()
    state = login.act(start(login, "login"), "webauthn_generate_request_options")
    options = state.body["payload"]["request_options"]
    refused = login.act(
        state,
        "webauthn_verify_assertion_response",
        {"assertion_response": device.get(options, **tamper)},
    )
    assert refused.status == 401 and refused.error_code == "passkey_invalid"
    assert refused.state == "login_passkey"


def test_replayed_assertion_is_refused(flow_client, passcode_outbox, device):
    state = sign_up_to_mfa_chooser(flow_client, passcode_outbox)
    create_passkey(flow_client, flow_client.act(state, "skip"), device)
    login = FlowClient()
    state = login.act(start(login, "login"), "webauthn_generate_request_options")
    assertion = device.get(state.body["payload"]["request_options"])
    assert (
        login.act(
            state, "webauthn_verify_assertion_response", {"assertion_response": assertion}
        ).state
        == "success"
    )
    again = FlowClient()
    other = again.act(start(again, "login"), "webauthn_generate_request_options")
    replay = again.act(
        other, "webauthn_verify_assertion_response", {"assertion_response": assertion}
    )
    assert replay.status == 401 and replay.error_code == "passkey_invalid"


@pytest.mark.parametrize("garbage", ["not json", {"id": "%%%"}, {"response": 5}, [], None])
def test_garbage_assertion_is_a_passkey_error_not_a_crash(flow_client, garbage):
    state = FlowClient()
    login = state.act(start(state, "login"), "webauthn_generate_request_options")
    refused = state.act(
        login, "webauthn_verify_assertion_response", {"assertion_response": garbage}
    )
    assert refused.status == 401 and refused.error_code == "passkey_invalid"


def test_totp_enrolment_then_login_with_totp_and_device_trust(flow_client, passcode_outbox, device):
    state = sign_up_to_mfa_chooser(flow_client, passcode_outbox)
    state = flow_client.act(state, "continue_to_otp_secret_creation")
    assert state.state == "mfa_otp_secret_creation"
    secret = state.body["payload"]["otp_secret"]
    assert state.body["payload"]["otp_image_source"].startswith("data:image/png;base64,")
    wrong = flow_client.act(
        state,
        "otp_code_verify",
        {"otp_code": "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"},
    )
    assert (
        wrong.status == 400
        and wrong.input_error("otp_code_verify", "otp_code") == "passcode_invalid"
    )
    assert wrong.body["payload"]["otp_secret"] == secret  # the same secret, shown again
    enrolment_code = pyotp.TOTP(secret).now()
    state = flow_client.act(wrong, "otp_code_verify", {"otp_code": enrolment_code})
    assert state.state == "onboarding_create_passkey"
    done = flow_client.act(state, "skip")
    assert done.state == "success"
    assert done.body["payload"]["claims"]["amr"] == ["otp", "pwd", "totp"]
    assert done.body["payload"]["user"]["mfa_config"]["auth_app_set_up"] is True
    assert OTPSecret.objects.count() == 1

    login = FlowClient()
    state = login.act(
        start(login, "login", webauthn_available=False),
        "continue_with_login_identifier",
        {"email": EMAIL},
    )
    state = login.act(state, "continue_to_password_login")
    state = login.act(state, "password_login", {"password": PASSWORD})
    assert state.state == "login_otp"  # an enrolled factor cannot be skipped
    assert "back" not in state.body["actions"]
    replay = login.act(state, "otp_code_validate", {"otp_code": enrolment_code})
    assert replay.input_error("otp_code_validate", "otp_code") == "passcode_invalid"
    next_code = pyotp.TOTP(secret).at(clock.timestamp() + 30)
    state = login.act(replay, "otp_code_validate", {"otp_code": next_code})
    assert state.state == "device_trust"
    done = login.act(state, "trust_device")
    assert done.state == "success"
    assert done.body["payload"]["claims"]["amr"] == ["pwd", "totp"]
    assert done.body["payload"]["last_login"] == {"login_method": "password", "mfa_method": "totp"}
    assert "hanko-device-token" in done.cookies

    trusted = FlowClient(login.client)  # the same browser, holding the device cookie
    state = trusted.act(
        start(trusted, "login", webauthn_available=False),
        "continue_with_login_identifier",
        {"email": EMAIL},
    )
    state = trusted.act(state, "continue_to_password_login")
    assert trusted.act(state, "password_login", {"password": PASSWORD}).state == "success"


def test_security_key_as_second_factor(flow_client, passcode_outbox):
    key = SoftAuthenticator(ORIGIN)
    state = sign_up_to_mfa_chooser(flow_client, passcode_outbox)
    state = flow_client.act(state, "continue_to_security_key_creation")
    assert state.state == "mfa_security_key_creation"
    state = flow_client.act(state, "webauthn_generate_creation_options")
    selection = state.body["payload"]["creation_options"]["publicKey"]["authenticatorSelection"]
    assert selection["residentKey"] == "discouraged"
    state = flow_client.act(
        state,
        "webauthn_verify_attestation_response",
        {"public_key": key.create(state.body["payload"]["creation_options"])},
    )
    assert state.state == "onboarding_create_passkey"
    done = flow_client.act(state, "skip")
    assert done.body["payload"]["claims"]["amr"] == ["otp", "pwd", "security_key"]
    assert len(done.body["payload"]["user"]["security_keys"]) == 1

    # The security key is not a passkey: as a first factor it is refused.
    first = FlowClient()
    state = first.act(start(first, "login"), "webauthn_generate_request_options")
    refused = first.act(
        state,
        "webauthn_verify_assertion_response",
        {"assertion_response": key.get(state.body["payload"]["request_options"])},
    )
    assert refused.error_code == "webauthn_credential_invalid_mfa_only"

    login = FlowClient()
    state = login.act(start(login, "login"), "continue_with_login_identifier", {"email": EMAIL})
    state = login.act(state, "continue_to_password_login")
    state = login.act(state, "password_login", {"password": PASSWORD})
    assert state.state == "login_security_key"
    state = login.act(state, "webauthn_generate_request_options")
    assert state.state == "login_passkey"
    options = state.body["payload"]["request_options"]
    assert len(options["publicKey"]["allowCredentials"]) == 1
    state = login.act(
        state, "webauthn_verify_assertion_response", {"assertion_response": key.get(options)}
    )
    assert state.state == "onboarding_create_passkey"  # no passkey yet: Hanko offers one first
    state = login.act(state, "skip")
    assert state.state == "device_trust"
    done = login.act(state, "skip")
    assert done.state == "success"
    assert done.body["payload"]["claims"]["amr"] == ["pwd", "security_key"]


def test_another_users_key_is_refused_in_the_mfa_step(
    flow_client, passcode_outbox, account_factory
):
    key = SoftAuthenticator(ORIGIN)
    state = sign_up_to_mfa_chooser(flow_client, passcode_outbox)
    state = flow_client.act(state, "continue_to_security_key_creation")
    state = flow_client.act(state, "webauthn_generate_creation_options")
    state = flow_client.act(
        state,
        "webauthn_verify_attestation_response",
        {"public_key": key.create(state.body["payload"]["creation_options"])},
    )
    assert flow_client.act(state, "skip").state == "success"
    # Mallory has her own account and key, and tries it in Pat's MFA step.
    mallory_key = SoftAuthenticator(ORIGIN)
    other = FlowClient()
    state = other.act(
        start(other, "registration"), "register_login_identifier", {"email": "mallory@example.com"}
    )
    state = other.act(state, "verify_passcode", {"code": passcode_outbox("mallory@example.com")})
    state = other.act(state, "register_password", {"new_password": PASSWORD})
    state = other.act(state, "continue_to_security_key_creation")
    state = other.act(state, "webauthn_generate_creation_options")
    state = other.act(
        state,
        "webauthn_verify_attestation_response",
        {"public_key": mallory_key.create(state.body["payload"]["creation_options"])},
    )
    assert other.act(state, "skip").state == "success"

    login = FlowClient()
    state = login.act(start(login, "login"), "continue_with_login_identifier", {"email": EMAIL})
    state = login.act(
        login.act(state, "continue_to_password_login"), "password_login", {"password": PASSWORD}
    )
    state = login.act(state, "webauthn_generate_request_options")
    options = state.body["payload"]["request_options"]
    forged = mallory_key.get(options, credential_id=mallory_key.credential().id)
    refused = login.act(state, "webauthn_verify_assertion_response", {"assertion_response": forged})
    assert refused.status == 401 and refused.error_code == "passkey_invalid"
    assert refused.state != "success"


def test_duplicate_credential_at_sign_up_is_refused_and_the_flow_goes_on(
    flow_client, passcode_outbox, device
):
    state = sign_up_to_mfa_chooser(flow_client, passcode_outbox)
    create_passkey(flow_client, flow_client.act(state, "skip"), device)
    again = FlowClient()
    state = again.act(
        start(again, "registration"), "register_login_identifier", {"email": "second@example.com"}
    )
    state = again.act(state, "verify_passcode", {"code": passcode_outbox("second@example.com")})
    state = again.act(state, "register_password", {"new_password": PASSWORD})
    state = again.act(state, "skip")
    state = again.act(state, "webauthn_generate_creation_options")
    reused = device.create(
        state.body["payload"]["creation_options"], credential_id=device.credential().id
    )
    result = again.act(state, "webauthn_verify_attestation_response", {"public_key": reused})
    assert result.status == 401 and result.error_code == "passkey_invalid"
    assert result.state == "success"  # Hanko: the flow continues without the credential
    assert "passkeys" not in result.body["payload"]["user"]
