"""The adapter's decisions, through real flow steps: who may sign up, the TOTP issuer and the
session's JWT claims (``HANKOFLOW["ADAPTER"]``, Hanko's ``session.jwt_template``)."""

from __future__ import annotations

import json
import logging

import jwt
import pytest
from django.core.checks import run_checks
from django.http import HttpRequest
from django.test import override_settings

from hankoflow.adapter import DefaultHankoflowAdapter
from hankoflow.services import totp
from hankoflow.testing.client import FlowClient

EMAIL = "new.user@example.com"
PASSWORD = "correct horse battery"
NO_WEBAUTHN = {"webauthn_available": False}


class RecordingAdapter(DefaultHankoflowAdapter):
    """Refuses sign-ups from blocked.example, names its own TOTP issuer, adds claims."""

    calls: list[tuple[str, tuple]] = []

    def is_signup_allowed(self, request, email, username=None):
        self.calls.append(("is_signup_allowed", (request, email, username)))
        return not (email or "").endswith("@blocked.example")

    def get_totp_issuer(self, request):
        self.calls.append(("get_totp_issuer", (request,)))
        return "Acme Corp"

    def build_jwt_claims(self, account, session, claims):
        self.calls.append(("build_jwt_claims", (account, session, dict(claims))))
        return {"tenant": "acme", "roles": ["staff"], "sub": "someone-else", "exp": 1}


ADAPTER = {"ADAPTER": "tests.test_adapter.RecordingAdapter"}


@pytest.fixture(autouse=True)
def _no_calls():
    RecordingAdapter.calls = []


def calls(name: str) -> list[tuple]:
    return [args for called, args in RecordingAdapter.calls if called == name]


def registration_init(flow_client: FlowClient):
    start = flow_client.start("registration")
    return flow_client.act(start, "register_client_capabilities", NO_WEBAUTHN)


def sign_up(flow_client: FlowClient, passcode_outbox, email: str = EMAIL):
    state = flow_client.act(
        registration_init(flow_client), "register_login_identifier", {"email": email}
    )
    state = flow_client.act(state, "verify_passcode", {"code": passcode_outbox(email)})
    state = flow_client.act(state, "register_password", {"new_password": PASSWORD})
    assert state.state == "mfa_method_chooser"
    return state


def token_claims(done) -> dict:
    return jwt.decode(done.cookies["hanko"].value, options={"verify_signature": False})


# --- is_signup_allowed ----------------------------------------------------------------------------


@override_settings(HANKOFLOW=ADAPTER)
def test_a_refused_sign_up_answers_operation_not_permitted_and_sends_nothing(
    flow_client, mailoutbox
):
    state = flow_client.act(
        registration_init(flow_client),
        "register_login_identifier",
        {"email": " X@Blocked.Example "},
    )
    assert state.status == 403 and state.state == "registration_init"
    assert state.error_code == "operation_not_permitted_error"
    assert "register_login_identifier" in state.body["actions"]  # the person may try another
    assert mailoutbox == []
    [(request, email, username)] = calls("is_signup_allowed")
    assert isinstance(request, HttpRequest)
    assert (email, username) == ("x@blocked.example", None)  # normalised


@override_settings(HANKOFLOW=ADAPTER)
def test_a_refusal_reads_the_same_for_a_registered_address(
    flow_client, account_factory, mailoutbox
):
    account_factory("taken@blocked.example")
    known = flow_client.act(
        registration_init(flow_client),
        "register_login_identifier",
        {"email": "taken@blocked.example"},
    )
    new = flow_client.act(
        registration_init(flow_client),
        "register_login_identifier",
        {"email": "fresh@blocked.example"},
    )

    def shape(state):
        return state.status, state.state, state.error_code, sorted(state.body["actions"])

    assert shape(known) == shape(new)
    assert known.status == 403 and mailoutbox == []  # not even the "attempted" notice


@override_settings(HANKOFLOW=ADAPTER)
def test_an_allowed_address_signs_up_as_usual(flow_client, mailoutbox):
    state = flow_client.act(
        registration_init(flow_client), "register_login_identifier", {"email": EMAIL}
    )
    assert state.state == "passcode_confirmation" and len(mailoutbox) == 1


@override_settings(
    HANKOFLOW={**ADAPTER, "USERNAME": {"ENABLED": True}, "EMAIL": {"OPTIONAL": True}}
)
def test_the_adapter_sees_the_username(flow_client):
    state = flow_client.act(
        registration_init(flow_client), "register_login_identifier", {"username": " Jane_Doe "}
    )
    assert state.status == 200
    [(_, email, username)] = calls("is_signup_allowed")
    assert (email, username) == (None, "jane_doe")


@override_settings(HANKOFLOW={**ADAPTER, "ACCOUNT": {"ALLOW_SIGNUP": False}})
def test_allow_signup_off_wins_over_the_adapter(flow_client):
    start = flow_client.start("registration")
    init = flow_client.act(start, "register_client_capabilities", NO_WEBAUTHN)
    assert "register_login_identifier" not in init.body["actions"]
    # The flow's URL with the suspended action's name.
    href = start.href("register_client_capabilities").replace(
        "register_client_capabilities", "register_login_identifier"
    )
    body = {"input_data": {"email": EMAIL}, "csrf_token": init.csrf_token}
    state = flow_client.post_raw(href, json.dumps(body).encode())
    assert state.status == 403 and state.error_code == "operation_not_permitted_error"
    assert calls("is_signup_allowed") == []


# --- get_totp_issuer ------------------------------------------------------------------------------


@pytest.fixture
def provisioning_uris(monkeypatch):
    """Every ``otpauth://`` URI the flows build (the QR code holds it)."""
    uris: list[str] = []
    real = totp.provisioning_uri

    def spy(*args, **kwargs):
        uris.append(real(*args, **kwargs))
        return uris[-1]

    monkeypatch.setattr(totp, "provisioning_uri", spy)
    return uris


@override_settings(HANKOFLOW=ADAPTER)
def test_the_adapter_names_the_totp_issuer(flow_client, passcode_outbox, provisioning_uris):
    state = flow_client.act(
        sign_up(flow_client, passcode_outbox), "continue_to_otp_secret_creation"
    )
    assert state.state == "mfa_otp_secret_creation"
    [uri] = provisioning_uris
    assert uri.startswith("otpauth://totp/Acme%20Corp:new.user%40example.com?")
    assert "issuer=Acme%20Corp" in uri
    [(request,)] = calls("get_totp_issuer")
    assert isinstance(request, HttpRequest)


def test_the_default_totp_issuer_is_the_service_name(
    flow_client, passcode_outbox, provisioning_uris
):
    with override_settings(HANKOFLOW={"SERVICE": {"NAME": "Example Shop"}}):
        flow_client.act(sign_up(flow_client, passcode_outbox), "continue_to_otp_secret_creation")
    assert "issuer=Example%20Shop" in provisioning_uris[0]


# --- build_jwt_claims -----------------------------------------------------------------------------


@override_settings(HANKOFLOW=ADAPTER)
def test_the_adapter_adds_claims_and_cannot_override_reserved_ones(
    flow_client, passcode_outbox, caplog
):
    with caplog.at_level(logging.WARNING, logger="hankoflow.sessions"):
        done = flow_client.act(sign_up(flow_client, passcode_outbox), "skip")
    assert done.state == "success"
    user_id = done.body["payload"]["user"]["id"]
    claims = token_claims(done)
    assert claims["tenant"] == "acme" and claims["roles"] == ["staff"]
    assert claims["sub"] == user_id and claims["exp"] > 1  # the built-in values win
    assert done.body["payload"]["claims"]["tenant"] == "acme"  # flattened, as Hanko's DTO does
    assert "dropped: ['exp', 'sub']" in caplog.text
    [(account, session, built_in)] = calls("build_jwt_claims")
    assert str(account.pk) == user_id
    assert str(session.pk) == claims["session_id"] and session.account_id == account.pk
    assert built_in["email"]["address"] == EMAIL and "tenant" not in built_in


TEMPLATE = {
    "role": "{{ if .User.Email.IsVerified }}member{{ else }}guest{{ end }}",
    "contact": {"mail": "{{ .User.Email.Address }}", "user": "{{ .User.UserID }}"},
    "verified": "{{ .User.Email.IsVerified }}",
    "names": '["{{ .User.Email.Address }}", "{{ .User.Username }}"]',
    "level": 3,
    "public": '{{ .User.Metadata.Public "plan" }}',  # no metadata yet: skipped, as Hanko does
}


@override_settings(HANKOFLOW={"SESSION": {"JWT_TEMPLATE": {"CLAIMS": TEMPLATE}}})
def test_the_default_adapter_renders_hankos_jwt_template(flow_client, passcode_outbox, caplog):
    with caplog.at_level(logging.WARNING, logger="hankoflow.sessions"):
        done = flow_client.act(sign_up(flow_client, passcode_outbox), "skip")
    claims = token_claims(done)
    user_id = done.body["payload"]["user"]["id"]
    assert claims["role"] == "member"
    assert claims["contact"] == {"mail": EMAIL, "user": user_id}
    assert claims["verified"] is True  # "true" becomes a boolean
    assert claims["names"] == [EMAIL, ""]  # JSON text becomes JSON
    assert claims["level"] == 3
    assert "public" not in claims and "'public' skipped" in caplog.text
    assert done.body["payload"]["claims"]["role"] == "member"


def test_no_template_no_custom_claims(flow_client, passcode_outbox):
    done = flow_client.act(sign_up(flow_client, passcode_outbox), "skip")
    assert set(token_claims(done)) == {"sub", "iat", "exp", "aud", "session_id", "email", "amr"}


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"sub": "{{ .User.UserID }}"}, "['sub']: is a registered claim"),
        ({"session_id": "x"}, "['session_id']: is a registered claim"),
        ({"role": "{{ if .User.Email }}member"}, "['role']: unclosed {{if}}"),
        ({"role": ["{{ .User.Email.Address "]}, "['role']: unclosed action"),
        ({"role": "{{ lookup .User }}"}, "['role']: function \"lookup\" not defined"),
    ],
)
def test_the_check_refuses_templates_that_cannot_work(claims, message):
    with override_settings(HANKOFLOW={"SESSION": {"JWT_TEMPLATE": {"CLAIMS": claims}}}):
        errors = [e for e in run_checks() if e.id == "hankoflow.E020"]
    assert len(errors) == 1 and message in errors[0].msg


def test_the_check_accepts_a_working_template():
    with override_settings(HANKOFLOW={"SESSION": {"JWT_TEMPLATE": {"CLAIMS": TEMPLATE}}}):
        assert [e for e in run_checks() if e.id.startswith("hankoflow.E")] == []
