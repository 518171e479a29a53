"""Every refusal of /flow/execute has its documented code and a 4xx status, never a 500
(docs/flow-execution.md, "Errors")."""

from __future__ import annotations

import uuid

import pytest

from hankoflow.api.public import flow_execution
from hankoflow.flows.registry import FLOWS
from hankoflow.models import Flow

NO_WEBAUTHN = {"webauthn_available": False}


def error(step) -> tuple[int, str]:
    return step.status, step.body["error"]["code"]


@pytest.fixture
def email_view(execution):
    start = execution.start("REGISTRATION")
    return execution.act(start, None, NO_WEBAUTHN)


def test_the_api_switched_off_is_not_found(execution, settings):
    settings.HANKOFLOW = {"FLOW_EXECUTION": {"ENABLED": False}}
    assert error(execution.start("REGISTRATION")) == (404, "not_found")


def test_a_flow_type_switched_off_is_refused(execution, settings):
    settings.HANKOFLOW = {"FLOW_EXECUTION": {"FLOW_TYPES": ["PASSWORD_RECOVERY"]}}
    refused = execution.start("REGISTRATION")
    assert error(refused) == (403, "flow_type_disabled")
    assert refused.body["flowType"] == "REGISTRATION"
    assert not Flow.objects.exists()


def test_a_flow_type_switched_off_mid_flow_is_refused(execution, email_view, settings):
    settings.HANKOFLOW = {"FLOW_EXECUTION": {"FLOW_TYPES": []}}
    refused = execution.act(email_view, "register_login_identifier", {"email": "a@example.com"})
    assert error(refused) == (403, "flow_type_disabled")


@pytest.mark.parametrize(
    ("flow_type", "flow_name"),
    [
        ("PASSWORD_RECOVERY", "password_recovery"),
        ("INVITED_USER_REGISTRATION", "invited_registration"),
    ],
)
def test_a_flow_type_whose_flow_is_not_installed_is_refused(
    execution, monkeypatch, flow_type, flow_name
):
    installed = {name: flow for name, flow in FLOWS.items() if name != flow_name}
    monkeypatch.setattr(flow_execution, "FLOWS", installed)
    assert error(execution.start(flow_type)) == (403, "flow_type_disabled")


@pytest.mark.parametrize("flow_type", ["LOGIN", "registration", 1, None, ["REGISTRATION"]])
def test_an_unknown_flow_type_is_refused(execution, flow_type):
    assert error(execution.post({"flowType": flow_type})) == (400, "unknown_flow_type")


@pytest.mark.parametrize(
    "flow_id",
    [
        f"{uuid.uuid4()}.{'a' * 32}",  # well formed, no such flow
        str(uuid.uuid4()),  # the bare flow id, without the step token
        "c8e06de8-7123-44ac-8209-02be5b55387e",  # the seed's example
        "",
        42,
        None,
    ],
)
def test_an_unknown_flow_id_is_not_found(execution, flow_id):
    body = {"flowId": flow_id, "actionId": "register_login_identifier", "inputs": {}}
    assert error(execution.post(body)) == (404, "invalid_flow_id")


def test_a_flow_of_another_dialects_flow_is_not_found(execution, flow_client):
    login = flow_client.start("login")  # no flowType serves login
    flow_id = login.action_param("register_client_capabilities").split("@")[1]
    body = {"flowId": f"{flow_id}.{login.csrf_token}", "inputs": NO_WEBAUTHN}
    assert error(execution.post(body)) == (404, "invalid_flow_id")


def test_an_unknown_action_id_is_refused(execution, email_view):
    for action_id in ("button-a2f1", "verify_passcode", "password_login"):
        refused = execution.act(email_view, action_id, {"email": "a@example.com"})
        assert error(refused) == (400, "invalid_action_id")
    # Nothing was run: the same flowId still works.
    step = execution.act(email_view, "register_login_identifier", {"email": "a@example.com"})
    assert step.status == 200


def test_a_view_needs_its_action_id(execution, email_view):
    refused = execution.act(email_view, None, {"email": "a@example.com"})
    assert error(refused) == (400, "action_id_required")


def test_missing_required_params_are_named(execution, email_view):
    refused = execution.act(email_view, "register_login_identifier", {})
    assert error(refused) == (400, "form_data_invalid_error")
    assert refused.body["error"]["params"] == {
        "email": {"code": "value_missing_error", "message": "Please fill in this field."}
    }
    assert refused.type == "VIEW"  # the same step, to be sent again


def test_a_missing_capability_counts_as_false(execution):
    # As in Hanko: the capabilities are booleans the engine does not validate.
    start = execution.start("REGISTRATION")
    step = execution.act(start, None, {})
    assert step.status == 200 and step.type == "VIEW"


def test_an_expired_flow_is_gone(execution, email_view, clock):
    clock.advance(days=2)  # FLOW.TTL is a day
    refused = execution.act(email_view, "register_login_identifier", {"email": "a@example.com"})
    assert error(refused) == (410, "flow_expired")


def test_a_replayed_step_is_stale(execution, email_view, mailoutbox):
    step = execution.act(email_view, "register_login_identifier", {"email": "a@example.com"})
    assert step.status == 200 and len(mailoutbox) == 1
    replay = execution.act(email_view, "register_login_identifier", {"email": "a@example.com"})
    assert error(replay) == (409, "stale_flow_id")
    assert len(mailoutbox) == 1  # the replay ran nothing
    assert execution.act(step, "resend_passcode").status == 200  # the latest flowId still works


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"{not json", 400),
        (b"[]", 400),
        (b'"REGISTRATION"', 400),
        (b"{}", 400),
        (b'{"flowType": NaN}', 400),
        (b"", 400),
    ],
)
def test_malformed_bodies(execution, raw, status):
    refused = execution.post(raw)
    assert error(refused) == (status, "invalid_request")


def test_wrong_content_type_and_oversized_bodies(execution, settings):
    response = execution.client.post(
        "/flow/execute", b"flowType=REGISTRATION", content_type="text/plain"
    )
    assert response.status_code == 415 and response.json()["error"]["code"] == "invalid_request"
    settings.HANKOFLOW = {"FLOW": {"MAX_BODY_SIZE": 100}}
    refused = execution.post({"flowType": "REGISTRATION", "padding": "x" * 200})
    assert error(refused) == (413, "invalid_request")


def test_mistyped_action_id_or_inputs(execution, email_view):
    flow_id = email_view.body["flowId"]
    for body in (
        {"flowId": flow_id, "actionId": 3, "inputs": {}},
        {"flowId": flow_id, "actionId": "register_login_identifier", "inputs": ["a"]},
    ):
        assert error(execution.post(body)) == (400, "invalid_request")


def test_refusals_speak_the_requests_language(execution):
    refused = execution.post(
        {"flowId": f"{uuid.uuid4()}.{'a' * 32}", "inputs": {}}, HTTP_X_LANGUAGE="de"
    )
    assert refused.response["Content-Language"] == "de"
    assert refused.status == 404


def test_a_flow_in_a_state_this_release_does_not_know_is_not_found(execution, email_view):
    flow_id = email_view.body["flowId"].split(".")[0]
    Flow.objects.filter(id=flow_id).update(state="a_state_of_an_older_release")
    refused = execution.act(email_view, "register_login_identifier", {"email": "a@example.com"})
    assert error(refused) == (404, "invalid_flow_id")
