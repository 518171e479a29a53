"""The Flow API transport (flow-api.md §1): starting flows, executing actions, early errors."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
from django.test import override_settings

from hankoflow.models import Flow
from hankoflow.testing.client import FlowClient

CSRF = re.compile(r"^[0-9A-Za-z]{32}$")


def snapshot(flow_id: str) -> tuple | None:
    """The flow's row as a step would change it; None while it is stored at no row (a flow
    is stored at its first action unless ``FLOW.STORE_AT_START``)."""
    row = Flow.objects.filter(id=flow_id).first()
    return (row.state, row.stash, row.csrf_token_hash, row.version) if row else None


STORE_AT_START = {"FLOW": {"STORE_AT_START": True}}


def flow_id_of(state) -> str:
    return state.action_param(next(iter(state.body["actions"]))).split("@")[1]


# --- starting a flow --------------------------------------------------------------------------


@pytest.mark.parametrize("flow", ["login", "registration"])
def test_empty_post_starts_flow_in_preflight(flow_client: FlowClient, flow: str):
    state = flow_client.start(flow)
    assert state.status == 200
    assert state.state == "preflight"
    assert state.body["payload"] == {}
    assert state.body["links"] is None
    assert "error" not in state.body
    assert CSRF.match(state.csrf_token)
    action = state.body["actions"]["register_client_capabilities"]
    flow_id = flow_id_of(state)
    assert action["href"] == f"/{flow}?action=register_client_capabilities%40{flow_id}"
    assert action["description"] == "Send the computers capabilities."
    assert action["inputs"] == {
        "webauthn_conditional_mediation_available": {
            "name": "webauthn_conditional_mediation_available",
            "type": "boolean",
            "hidden": True,
        },
        "webauthn_platform_authenticator_available": {
            "name": "webauthn_platform_authenticator_available",
            "type": "boolean",
            "hidden": True,
        },
        "webauthn_available": {
            "name": "webauthn_available",
            "type": "boolean",
            "required": True,
            "hidden": True,
        },
    }
    assert not Flow.objects.filter(id=flow_id).exists()  # stored at its first action
    with override_settings(HANKOFLOW=STORE_AT_START):
        stored = flow_id_of(flow_client.start(flow))
    assert Flow.objects.get(id=stored).name == flow


def test_start_ignores_body_and_unknown_query_parameters(flow_client: FlowClient):
    state = flow_client.post_raw("/login?foo=bar&action=", b"{not json", content_type="text/plain")
    assert state.status == 200 and state.state == "preflight"


@override_settings(HANKOFLOW=STORE_AT_START)
def test_start_keeps_x_language_on_the_flow(flow_client: FlowClient):
    state = flow_client.start("login", **{"X-Language": "de"})
    assert Flow.objects.get(id=flow_id_of(state)).language == "de"


def test_the_first_action_keeps_x_language_on_the_flow(flow_client: FlowClient):
    state = flow_client.start("login")
    flow_client.act(
        state, "register_client_capabilities", {"webauthn_available": True}, **{"X-Language": "de"}
    )
    assert Flow.objects.get(id=flow_id_of(state)).language == "de"


@override_settings(HANKOFLOW=STORE_AT_START)
def test_invalid_x_language_is_ignored(flow_client: FlowClient):
    state = flow_client.start("login", **{"X-Language": "de;drop table"})
    assert Flow.objects.get(id=flow_id_of(state)).language == ""


@pytest.mark.parametrize("store_at_start", [True, False])
def test_flow_expires_after_configured_ttl(flow_client: FlowClient, store_at_start):
    with override_settings(HANKOFLOW={"FLOW": {"TTL": 600, "STORE_AT_START": store_at_start}}):
        state = flow_client.start("login")
        flow_client.act(state, "register_client_capabilities", {"webauthn_available": True})
    row = Flow.objects.get(id=flow_id_of(state))
    assert timedelta(seconds=590) < row.expires_at - row.created_at <= timedelta(seconds=600)


# --- executing actions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flow", "next_state"), [("login", "login_init"), ("registration", "registration_init")]
)
def test_capabilities_move_to_the_second_initial_state(flow_client, flow, next_state):
    start = flow_client.start(flow)
    state = flow_client.act(
        start,
        "register_client_capabilities",
        {"webauthn_available": True, "webauthn_platform_authenticator_available": "yes"},
    )
    assert state.status == 200
    assert state.state == next_state
    assert state.csrf_token != start.csrf_token and CSRF.match(state.csrf_token)
    data = Flow.objects.get(id=flow_id_of(start)).stash["data"]
    assert data == {
        "webauthn_available": True,
        "webauthn_conditional_mediation_available": False,
        "webauthn_platform_authenticator_available": False,  # only JSON true counts
        "security_key_attachment_supported": True,  # attachment "cross-platform" by default
    }


def test_security_key_attachment_follows_platform_setting(flow_client):
    with override_settings(
        HANKOFLOW={"MFA": {"SECURITY_KEYS": {"AUTHENTICATOR_ATTACHMENT": "platform"}}}
    ):
        start = flow_client.start("login")
        flow_client.act(start, "register_client_capabilities", {"webauthn_available": True})
    data = Flow.objects.get(id=flow_id_of(start)).stash["data"]
    assert data["security_key_attachment_supported"] is False


@override_settings(HANKOFLOW={"SESSION": {"COOKIE": {"RETENTION": "prompt"}}})
@pytest.mark.parametrize(
    ("flow", "state_name"), [("login", "login_init"), ("registration", "registration_init")]
)
def test_remember_me_is_offered_with_prompt_retention_and_reenters_state(
    preflight_done, flow_client, flow, state_name
):
    state = preflight_done(flow)
    assert state.body["actions"]["remember_me"]["inputs"] == {
        "remember_me": {"name": "remember_me", "type": "boolean", "required": True}
    }
    again = flow_client.act(state, "remember_me", {"remember_me": True})
    assert again.state == state_name and again.status == 200
    assert Flow.objects.get(id=flow_id_of(state)).stash["data"]["remember_me_selected"] is True


def test_remember_me_is_suspended_by_default(flow_client):
    start = flow_client.start("login")
    state = flow_client.act(start, "register_client_capabilities", {"webauthn_available": True})
    assert "remember_me" not in state.body["actions"]
    forged = flow_client.post_raw(
        f"/login?action=remember_me%40{flow_id_of(start)}",
        json.dumps({"input_data": {"remember_me": True}, "csrf_token": state.csrf_token}).encode(),
    )
    assert forged.status == 403 and forged.error_code == "operation_not_permitted_error"


# --- early errors: the flow is left untouched -------------------------------------------------


@pytest.fixture(params=["stored at the first action", "stored at start"])
def started(request, flow_client):
    """A login flow in preflight, as stored by default (no row yet) and with STORE_AT_START."""
    with override_settings(
        HANKOFLOW={"FLOW": {"STORE_AT_START": request.param != "stored at the first action"}}
    ):
        state = flow_client.start("login")
    return state, flow_id_of(state)


def assert_early(response, status: int, code: str) -> None:
    assert response.status == status
    assert response.body == {
        "name": "error",
        "status": status,
        "csrf_token": "",
        "actions": {},
        "error": response.body["error"],
        "links": None,
    }
    assert response.error_code == code


@pytest.mark.parametrize("token", ["", "x" * 32, "A" * 31, None])
def test_wrong_or_missing_csrf_token_is_refused_and_flow_unchanged(flow_client, started, token):
    state, flow_id = started
    before = snapshot(flow_id)
    body = {"input_data": {"webauthn_available": True}}
    if token is not None:
        body["csrf_token"] = token
    response = flow_client.post_raw(
        state.href("register_client_capabilities"), json.dumps(body).encode()
    )
    assert_early(response, 403, "operation_not_permitted_error")
    assert snapshot(flow_id) == before


def test_replayed_csrf_token_is_refused(flow_client, started):
    state, flow_id = started
    flow_client.act(state, "register_client_capabilities", {"webauthn_available": True})
    before = snapshot(flow_id)
    replay = flow_client.act(state, "register_client_capabilities", {"webauthn_available": True})
    assert_early(replay, 403, "operation_not_permitted_error")
    assert snapshot(flow_id) == before


@pytest.mark.parametrize(
    "param",
    [
        "",  # empty means "start", covered elsewhere; here with a body it still starts
        "@",
        "register_client_capabilities",
        "a@b@c",
        "register_client_capabilities@not-a-uuid",
        "@00000000-0000-4000-8000-000000000000",
        "register_client_capabilities@\x00",
        "x" * 10_000 + "@" + str(uuid.uuid4()),
    ],
)
def test_malformed_action_parameter_answers_like_an_unknown_flow(flow_client, param):
    from urllib.parse import quote

    response = flow_client.post_raw(
        f"/login?action={quote(param, safe='')}",
        json.dumps({"input_data": {}, "csrf_token": "x"}).encode(),
    )
    if param == "":
        assert response.state == "preflight"
        return
    assert_early(response, 403, "operation_not_permitted_error")


def test_unknown_flow_id_is_refused(flow_client):
    response = flow_client.post_raw(
        f"/login?action=register_client_capabilities%40{uuid.uuid4()}",
        json.dumps({"input_data": {}, "csrf_token": "A" * 32}).encode(),
    )
    assert_early(response, 403, "operation_not_permitted_error")


def test_flow_of_another_endpoint_is_refused(flow_client, started):
    state, flow_id = started
    before = snapshot(flow_id)
    response = flow_client.post_raw(
        f"/registration?action=register_client_capabilities%40{flow_id}",
        json.dumps({"input_data": {}, "csrf_token": state.csrf_token}).encode(),
    )
    assert_early(response, 403, "operation_not_permitted_error")
    assert snapshot(flow_id) == before


@pytest.mark.parametrize("action", ["remember_me", "no_such_action", "back"])
def test_action_not_offered_in_state_is_refused(flow_client, started, action):
    state, flow_id = started
    before = snapshot(flow_id)
    response = flow_client.post_raw(
        f"/login?action={action}%40{flow_id}",
        json.dumps({"input_data": {}, "csrf_token": state.csrf_token}).encode(),
    )
    assert_early(response, 403, "operation_not_permitted_error")
    assert snapshot(flow_id) == before


def test_expired_flow_answers_410_only_to_the_token_holder(flow_client, started, clock):
    state, flow_id = started
    clock.advance(seconds=24 * 3600)  # FLOW.TTL
    before = snapshot(flow_id)
    expired = flow_client.act(state, "register_client_capabilities", {"webauthn_available": True})
    assert_early(expired, 410, "flow_expired_error")
    stranger = flow_client.act(state, "register_client_capabilities", {}, csrf_token="B" * 32)
    assert_early(stranger, 403, "operation_not_permitted_error")
    assert snapshot(flow_id) == before


def test_failing_action_answers_technical_error_and_rolls_back(flow_client, started, monkeypatch):
    from hankoflow.actions.capabilities import RegisterClientCapabilities

    state, flow_id = started
    before = snapshot(flow_id)

    def explode(self, ctx):
        ctx.stash.set("half", "written")
        raise RuntimeError("boom")

    monkeypatch.setattr(RegisterClientCapabilities, "execute", explode)
    response = flow_client.act(state, "register_client_capabilities", {"webauthn_available": True})
    assert_early(response, 500, "technical_error")
    assert "cause" not in response.body["error"]  # no internals outside debug mode
    assert snapshot(flow_id) == before
    monkeypatch.undo()
    retry = flow_client.act(state, "register_client_capabilities", {"webauthn_available": True})
    assert retry.state == "login_init"  # the same token still works after the failure


# --- malformed requests: 4xx, never 5xx -------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        (b"{bad json", "application/json", 400),
        (b"[]", "application/json", 400),
        (b'"just a string"', "application/json", 400),
        (b'{"input_data": [], "csrf_token": ""}', "application/json", 400),
        (b'{"input_data": "x", "csrf_token": ""}', "application/json", 400),
        (b'{"input_data": {}, "csrf_token": 42}', "application/json", 400),
        (b'{"input_data": {"a": NaN}, "csrf_token": ""}', "application/json", 400),
        (b'{"input_data": {"a": Infinity}, "csrf_token": ""}', "application/json", 400),
        (b'{"input_data": {"a": "\\u0000"}, "csrf_token": ""}', "application/json", 400),
        (b'{"input_data": {"a": "\\ud800"}, "csrf_token": ""}', "application/json", 400),
        (b'{"input_data": {"a": "\xff\xfe"}, "csrf_token": ""}', "application/json", 400),
        (b"[" * 5000 + b"]" * 5000, "application/json", 400),
        (b'{"input_data": {}, "csrf_token": ""}', "text/plain", 415),
        (b"input_data=x&csrf_token=y", "application/x-www-form-urlencoded", 415),
    ],
)
def test_malformed_body_is_a_client_error_and_flow_unchanged(
    flow_client, started, raw, content_type, status
):
    state, flow_id = started
    before = snapshot(flow_id)
    response = flow_client.post_raw(
        state.href("register_client_capabilities"), raw, content_type=content_type
    )
    assert_early(response, status, "form_data_invalid_error")
    assert snapshot(flow_id) == before


def test_oversized_body_is_refused_with_413(flow_client, started):
    state, flow_id = started
    before = snapshot(flow_id)
    big = json.dumps({"input_data": {"x": "a" * 70_000}, "csrf_token": state.csrf_token})
    response = flow_client.post_raw(state.href("register_client_capabilities"), big.encode())
    assert_early(response, 413, "form_data_invalid_error")
    assert snapshot(flow_id) == before


def test_empty_action_body_fails_the_csrf_check(flow_client, started):
    state, _ = started
    response = flow_client.post_raw(state.href("register_client_capabilities"), b"")
    assert_early(response, 403, "operation_not_permitted_error")


def test_null_input_data_counts_as_no_inputs(flow_client, started):
    state, _ = started
    body = json.dumps({"input_data": None, "csrf_token": state.csrf_token}).encode()
    response = flow_client.post_raw(state.href("register_client_capabilities"), body)
    assert response.state == "login_init"


def test_debug_mode_adds_the_cause(flow_client, started):
    state, _ = started
    with override_settings(HANKOFLOW={"DEBUG": True}):
        response = flow_client.post_raw(state.href("register_client_capabilities"), b"{bad")
    assert response.body["error"]["cause"].startswith("invalid JSON")


# --- flows guarded before the engine runs -----------------------------------------------------


def test_profile_without_session_is_unauthorized(flow_client):
    assert_early(flow_client.start("profile"), 401, "unauthorized")


def test_token_exchange_without_saml_is_forbidden(flow_client):
    response = flow_client.start("token_exchange")
    assert_early(response, 403, "forbidden")
    assert response.body["error"]["message"] == "SAML is not enabled for this tenant"


# --- not flow requests ------------------------------------------------------------------------


def test_get_on_a_flow_endpoint_is_405_json(client):
    response = client.get("/login")
    assert response.status_code == 405
    assert response.json() == {"code": 405, "message": "Method Not Allowed"}


def test_unknown_path_is_404_json(client):
    response = client.post("/signin")
    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "Not Found"}


def test_flow_responses_are_not_cached(flow_client):
    assert flow_client.start("login").headers["Cache-Control"] == "no-store"
