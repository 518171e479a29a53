"""The seed's examples of the Flow Execution API replayed against /flow/execute: the request and
answer shapes of a start, each response ``type`` and a completed flow (docs/flow-execution.md)."""

from __future__ import annotations

import base64
import json
import re

import pytest

from hankoflow.models import Account, WebauthnCredential

EMAIL = "sasha@example.com"
PASSWORD = "MyP@ssw0rd!"
FLOW_ID = re.compile(r"^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\.[0-9A-Za-z]{32}$")
NO_WEBAUTHN = {"webauthn_available": False}


def b64url_json(document: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


def to_email_view(execution, **capabilities):
    start = execution.start("REGISTRATION")
    return execution.act(start, None, capabilities or NO_WEBAUTHN)


def test_start_answers_the_seeds_top_level_fields(execution):
    step = execution.start("REGISTRATION")
    assert step.status == 200
    assert list(step.body) == ["flowId", "flowType", "flowStatus", "type", "data"]
    assert FLOW_ID.match(step.body["flowId"])
    assert step.body["flowType"] == "REGISTRATION"
    assert step.body["flowStatus"] == "INCOMPLETE"
    assert step.response["Cache-Control"] == "no-store"


def test_internal_prompt_asks_for_the_clients_capabilities(execution):
    step = execution.start("REGISTRATION")
    assert step.type == "INTERNAL_PROMPT"
    assert step.data == {
        "actionId": "register_client_capabilities",
        "requiredParams": ["webauthn_available"],
        "optionalParams": [
            "webauthn_conditional_mediation_available",
            "webauthn_platform_authenticator_available",
        ],
    }
    # As the seed's example: only flowId and inputs, no actionId.
    answered = execution.post({"flowId": step.body["flowId"], "inputs": NO_WEBAUTHN})
    assert answered.status == 200 and answered.type == "VIEW"


def test_view_is_a_form_of_inputs_and_a_button_with_required_params(execution):
    step = to_email_view(execution)
    assert step.type == "VIEW" and step.body["flowStatus"] == "INCOMPLETE"
    heading, text, form = step.data["components"]
    assert heading == {
        "id": "heading",
        "type": "TYPOGRAPHY",
        "variant": "HEADING",
        "config": {"text": "Create an account"},
    }
    assert text["type"] == "TYPOGRAPHY" and text["config"]["text"]
    assert form["type"] == "FORM" and form["id"] == "form_register_login_identifier"
    email, button = form["components"]
    assert email == {
        "id": "email",
        "type": "INPUT",
        "variant": "EMAIL",
        "config": {
            "identifier": "email",
            "label": "Email address",
            "required": True,
            "maxLength": 120,
        },
    }
    assert button == {
        "id": "button_register_login_identifier",
        "type": "BUTTON",
        "actionId": "register_login_identifier",
        "variant": "PRIMARY",
        "config": {"text": "Continue"},
    }
    assert step.data["requiredParams"] == ["email"]


def test_labels_follow_x_language(execution):
    start = execution.start("REGISTRATION", HTTP_X_LANGUAGE="de")
    step = execution.act(start, None, NO_WEBAUTHN, HTTP_X_LANGUAGE="de")
    assert step.response["Content-Language"] == "de"
    components = {c["id"]: c for c in step.components()}
    assert components["heading"]["config"]["text"] == "Konto erstellen"
    assert components["email"]["config"]["label"] == "E-Mail-Adresse"
    english = execution.act(step, "register_login_identifier", {"email": "x"})
    assert english.response["Content-Language"] == "en"


def test_validation_errors_come_back_per_field(execution):
    step = to_email_view(execution)
    refused = execution.act(step, "register_login_identifier", {"email": "not an address"})
    assert refused.status == 400 and refused.type == "VIEW"
    email = next(c for c in refused.components() if c["id"] == "email")
    assert email["error"]["code"] == "value_invalid_error"
    assert email["error"]["message"] == "Enter a valid email address."
    assert refused.body["error"]["code"] == "form_data_invalid_error"
    assert refused.body["error"]["params"]["email"]["code"] == "value_invalid_error"


def sign_up_to_password(execution, passcode_outbox, **capabilities):
    step = to_email_view(execution, **capabilities)
    step = execution.act(step, "register_login_identifier", {"email": EMAIL})
    assert step.type == "VIEW" and "verify_passcode" in step.action_ids()
    code = next(c for c in step.components() if c["id"] == "code")
    assert code["variant"] == "OTP"
    step = execution.act(step, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    assert step.data["requiredParams"] == ["new_password"]
    return execution.act(step, "register_password", {"new_password": PASSWORD})


def test_complete_has_the_seeds_shape_and_signs_in(execution, passcode_outbox):
    step = sign_up_to_password(execution, passcode_outbox)
    assert step.action_ids() == ["continue_to_otp_secret_creation", "skip"]
    done = execution.act(step, "skip")
    assert done.status == 200
    assert done.body["flowStatus"] == "COMPLETE" and done.body["flowType"] == "REGISTRATION"
    assert done.data == {}  # no userAssertion: auto-login by assertion is not built
    assert done.response.cookies["hanko"].value.count(".") == 2  # the flow's session, as in Hanko
    account = Account.objects.get(emails__address=EMAIL)
    assert account.user.check_password(PASSWORD)


@pytest.fixture
def passkey_step(execution, passcode_outbox):
    capabilities = {"webauthn_available": True, "webauthn_platform_authenticator_available": True}
    step = sign_up_to_password(execution, passcode_outbox, **capabilities)
    step = execution.act(step, "skip")  # no second factor
    assert step.action_ids()[0] == "webauthn_generate_creation_options"
    return execution.act(step, "webauthn_generate_creation_options")


def test_webauthn_step_carries_the_creation_options(passkey_step):
    assert passkey_step.type == "WEBAUTHN"
    data = passkey_step.data
    assert (
        data["ceremony"] == "create" and data["actionId"] == "webauthn_verify_attestation_response"
    )
    assert data["requiredParams"] == ["public_key"]
    assert data["webAuthn"]["publicKey"]["challenge"]
    assert [c["actionId"] for c in data["components"]] == ["back"]


def test_webauthn_credential_comes_back_base64url_encoded(
    execution, passkey_step, soft_authenticator
):
    credential = soft_authenticator.create(passkey_step.data["webAuthn"])
    # As the seed's example: no actionId, the encoded credential under the requiredParams key.
    done = execution.post(
        {"flowId": passkey_step.body["flowId"], "inputs": {"public_key": b64url_json(credential)}}
    )
    assert done.status == 200 and done.body["flowStatus"] == "COMPLETE"
    assert WebauthnCredential.objects.filter(account__emails__address=EMAIL).count() == 1


def test_webauthn_credential_as_a_json_object_works_too(
    execution, passkey_step, soft_authenticator
):
    credential = soft_authenticator.create(passkey_step.data["webAuthn"])
    done = execution.act(passkey_step, None, {"public_key": credential})
    assert done.body["flowStatus"] == "COMPLETE"


def test_a_credential_that_does_not_decode_is_the_flows_passkey_error(execution, passkey_step):
    refused = execution.act(passkey_step, None, {"public_key": "bm90IGpzb24"})  # "not json"
    assert 400 <= refused.status < 500
    assert refused.body["error"]["code"] in ("passkey_invalid", "form_data_invalid_error")


def test_redirection_to_a_provider(execution, settings):
    settings.HANKOFLOW = {
        "THIRD_PARTY": {
            "ALLOWED_REDIRECT_URLS": ["https://app.example.com/**"],
            "PROVIDERS": {"google": {"ENABLED": True, "CLIENT_ID": "id", "SECRET": "secret"}},
        }
    }
    step = to_email_view(execution)
    google = next(c for c in step.components() if c["id"] == "button_thirdparty_oauth_google")
    assert google == {
        "id": "button_thirdparty_oauth_google",
        "type": "BUTTON",
        "actionId": "thirdparty_oauth",
        "variant": "SECONDARY",
        "config": {
            "text": "Google",
            "params": {"provider": "google"},
            "requiredParams": ["redirect_to"],
        },
    }
    inputs = {"provider": "google", "redirect_to": "https://app.example.com/callback"}
    step = execution.act(step, "thirdparty_oauth", inputs)
    assert step.status == 200 and step.type == "REDIRECTION"
    assert step.data["url"].startswith("https://accounts.google.com/")
    assert step.data["actionId"] == "exchange_token" and step.data["requiredParams"] == ["token"]
    assert step.data["optionalParams"] == ["code_verifier"]
    assert [c["actionId"] for c in step.data["components"]] == ["back"]
