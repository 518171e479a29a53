"""SAML off answers 403 everywhere; the login flow sends SAML email domains to the IdP; the
system checks (no IdP needed)."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.test import Client

pytestmark = pytest.mark.django_db

FORBIDDEN = {"code": 403, "message": "SAML is not enabled for this tenant"}


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/saml/metadata?domain=corp.example.com"),
        ("get", "/saml/auth?domain=corp.example.com&redirect_to=https://app.example.com/x"),
        ("post", "/saml/callback"),
        ("get", "/saml/provider?domain=corp.example.com"),
    ],
)
def test_saml_disabled_answers_403(method, path):
    response = getattr(Client(), method)(path)
    assert response.status_code == 403
    assert response.json() == FORBIDDEN


def _saml_on(settings, **overrides):
    settings.HANKOFLOW = {
        "SAML": {
            "ENABLED": True,
            "ENDPOINT_URL": "https://auth.example.com",
            "DEFAULT_REDIRECT_URL": "https://app.example.com/saml",
            "SP_CERTIFICATE": "cert",
            "SP_PRIVATE_KEY": "key",
            "IDENTITY_PROVIDERS": [
                {
                    "ENABLED": True,
                    "NAME": "Corp",
                    "DOMAIN": "corp.example.com",
                    "METADATA_URL": "https://idp.example.com/metadata",
                }
            ],
            **overrides,
        }
    }


def _login_identifier(flow_client, email: str):
    state = flow_client.start("login")
    if state.state == "preflight":
        state = flow_client.act(
            state,
            "register_client_capabilities",
            {"webauthn_available": False, "webauthn_conditional_mediation_available": False},
        )
    field = next(
        name
        for name in ("email", "identifier")
        if name in state.body["actions"]["continue_with_login_identifier"]["inputs"]
    )
    return flow_client.act(state, "continue_with_login_identifier", {field: email})


def test_login_sends_a_saml_domain_to_the_idp(settings, flow_client):
    _saml_on(settings)
    state = _login_identifier(flow_client, "Ada@Corp.Example.com")
    assert state.state == "thirdparty"
    assert state.body["payload"]["redirect_url"] == (
        "https://auth.example.com/saml/auth?domain=corp.example.com"
        "&redirect_to=https%3A%2F%2Fapp.example.com%2Fsaml"
    )


def test_login_leaves_other_domains_alone(settings, flow_client):
    _saml_on(settings)
    assert _login_identifier(flow_client, "bob@example.org").state != "thirdparty"


def _saml_errors():
    return [m.msg for m in run_checks() if m.id == "hankoflow.E034"]


def test_checks_pass_with_a_complete_configuration(settings):
    _saml_on(settings)
    assert _saml_errors() == [] or _saml_errors() == [
        "SAML is enabled but the xmlsec1 binary is not installed (apt: xmlsec1)."
    ]


def test_checks_name_what_is_missing(settings):
    _saml_on(settings, SP_CERTIFICATE="", SP_PRIVATE_KEY="", IDENTITY_PROVIDERS=[])
    errors = _saml_errors()
    assert "HANKOFLOW[SAML.SP_CERTIFICATE] is empty while SAML is enabled." in errors
    assert "HANKOFLOW[SAML.SP_PRIVATE_KEY] is empty while SAML is enabled." in errors
    assert "SAML is enabled but no HANKOFLOW[SAML.IDENTITY_PROVIDERS] entry is." in errors


def test_checks_refuse_a_provider_without_metadata(settings):
    _saml_on(
        settings,
        IDENTITY_PROVIDERS=[{"ENABLED": True, "NAME": "Corp", "DOMAIN": "corp.example.com"}],
    )
    assert "SAML identity provider 'Corp' has neither METADATA_URL nor METADATA." in _saml_errors()


def test_checks_are_quiet_while_saml_is_off():
    assert _saml_errors() == []


def test_registration_sends_a_saml_domain_to_the_idp(settings, flow_client):
    _saml_on(settings)
    state = flow_client.start("registration")
    if state.state == "preflight":
        state = flow_client.act(
            state,
            "register_client_capabilities",
            {"webauthn_available": False, "webauthn_conditional_mediation_available": False},
        )
    state = flow_client.act(state, "register_login_identifier", {"email": "ada@corp.example.com"})
    assert state.state == "thirdparty"
    assert state.body["payload"]["redirect_url"].startswith(
        "https://auth.example.com/saml/auth?domain=corp.example.com&"
    )


def test_well_known_config_says_use_enterprise(settings):
    assert Client().get("/.well-known/config").json()["use_enterprise"] is False
    _saml_on(settings)
    assert Client().get("/.well-known/config").json()["use_enterprise"] is True
    settings.HANKOFLOW["SAML"]["IDENTITY_PROVIDERS"][0]["ENABLED"] = False
    settings.HANKOFLOW = dict(settings.HANKOFLOW)
    assert Client().get("/.well-known/config").json()["use_enterprise"] is False
