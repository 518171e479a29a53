"""hankoflow's pytest plugin (hankoflow/testing/plugin.py), as this suite loads it: each fixture
does what its docstring says, and checking against the OpenAPI documents steps aside with a
clear reason when a package or a document is missing. tests/testing/test_plugin_in_host.py runs
the same fixtures from an installed wheel in a project of its own."""

from __future__ import annotations

import sys

import pytest
from django.core import mail

from hankoflow.conf import settings as hankoflow_settings
from hankoflow.models import WebauthnCredential
from hankoflow.services import totp
from hankoflow.testing import plugin
from hankoflow.testing.client import FlowClient
from hankoflow.testing.openapi_documents import OPENAPI_DIR_ENV, validation_unavailable

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_the_plugin_is_registered_under_its_entry_point_name(request):
    assert request.config.pluginmanager.get_plugin("hankoflow") is plugin


def test_flow_client_checks_answers_here(flow_client):
    assert flow_client.validate and flow_client.skipped_validation is None
    state = flow_client.act(
        flow_client.start("login"), "register_client_capabilities", {"webauthn_available": True}
    )
    assert state.state == "login_init"


def test_passcode_outbox_reads_the_newest_code_to_an_address(flow_client, passcode_outbox):
    state = flow_client.act(
        flow_client.start("registration"),
        "register_client_capabilities",
        {"webauthn_available": False},
    )
    flow_client.act(state, "register_login_identifier", {"email": "jane@example.com"})
    code = passcode_outbox("jane@example.com")
    assert code is not None and code in mail.outbox[-1].body
    with pytest.raises(AssertionError, match="no email to nobody@example.com"):
        passcode_outbox("nobody@example.com")


def test_soft_authenticator_answers_for_the_configured_relying_party(
    soft_authenticator, account_factory
):
    party = hankoflow_settings.WEBAUTHN.RELYING_PARTY
    assert (soft_authenticator.origin, soft_authenticator.rp_id) == (party.ORIGINS[0], party.ID)
    account = account_factory(passkey=soft_authenticator)
    assert WebauthnCredential.objects.filter(account=account).count() == 1


def test_totp_now_follows_the_clock_for_a_secret_or_an_account(totp_now, account_factory, clock):
    clock.stop()
    account = account_factory(totp=SECRET)
    assert totp_now(account) == totp_now(SECRET)
    assert totp.matching_step(SECRET, totp_now(SECRET)) is not None
    following = totp_now(SECRET, steps=1)
    clock.advance(seconds=totp.PERIOD)
    assert totp_now(account) == following


def test_signed_in_client_carries_a_valid_session(signed_in_client, account_factory):
    account = account_factory("ann@example.com")
    client = signed_in_client(account)
    answer = client.get("/me")
    assert answer.status_code == 200 and answer.json()["id"] == str(account.id)
    assert signed_in_client().get("/me").status_code == 200  # an account of its own
    bearer = {"Authorization": f"Bearer {client.session_token}"}
    assert client.__class__().get("/me", headers=bearer).status_code == 200


def test_without_a_validation_package_answers_go_unchecked_and_it_says_why(db, monkeypatch):
    monkeypatch.setitem(sys.modules, "openapi_schema_validator", None)  # as if not installed
    reason = validation_unavailable()
    assert reason == (
        "openapi-schema-validator not installed: install hankoflow[testing] to check responses "
        "against Hanko's OpenAPI documents"
    )
    client = FlowClient()
    assert not client.validate and client.skipped_validation == reason
    assert client.start("login").state == "preflight"
    assert plugin.pytest_report_header(None) == f"hankoflow: OpenAPI validation skipped ({reason})"


def test_without_the_documents_it_names_the_variable_to_set(db, monkeypatch, tmp_path):
    monkeypatch.setenv(OPENAPI_DIR_ENV, str(tmp_path))
    reason = validation_unavailable()
    assert reason is not None and reason.startswith(f"{tmp_path / 'openapi-flow.yaml'} not found")
    assert OPENAPI_DIR_ENV in reason
    with pytest.raises(FileNotFoundError, match=OPENAPI_DIR_ENV):
        FlowClient(validate=True).start("login")


def test_report_header_names_where_the_documents_are():
    header = plugin.pytest_report_header(None)
    assert header.startswith("hankoflow: Flow API answers checked against ")
