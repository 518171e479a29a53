"""Email passcode checks of ../shared/spec/security-checks.md §4 B (PC-01 ... PC-09) that the
suites elsewhere do not already prove; docs/security-checks.md maps every check to its tests."""

from __future__ import annotations

import logging

import pytest
from django.apps import apps
from django.core import serializers
from django.core.checks import run_checks
from django.test import Client, override_settings

from hankoflow.models import Flow, OutboxEmail
from hankoflow.testing.client import FlowClient

EMAIL = "jane@example.com"
NO_WEBAUTHN = {"webauthn_available": False}


def to_passcode_confirmation(flow_client: FlowClient, email: str = EMAIL):
    state = flow_client.act(flow_client.start("login"), "register_client_capabilities", NO_WEBAUTHN)
    state = flow_client.act(state, "continue_with_login_identifier", {"email": email})
    if state.state == "login_method_chooser":
        state = flow_client.act(state, "continue_to_passcode_confirmation")
    assert state.state == "passcode_confirmation"
    return state


# --- PC-01 the plaintext code reaches the mail and nothing else -----------------------------------


def every_stored_row() -> str:
    """Every row of hankoflow's models, of Django's users and of the admin log, as JSON text."""
    models = [*apps.get_app_config("hankoflow").get_models()]
    models += [apps.get_model("auth", "User"), apps.get_model("admin", "LogEntry")]
    return "".join(serializers.serialize("json", m.objects.all()) for m in models)


def test_the_plain_code_is_in_the_mail_only(
    flow_client, account_factory, passcode_outbox, mailoutbox, caplog, admin_client
):
    """Secret collector: a full passcode login (a wrong guess, then the right code) logged at
    DEBUG; the code must appear in no stored row, no log record and no admin page."""
    account_factory(EMAIL)
    caplog.set_level(logging.DEBUG)
    state = to_passcode_confirmation(flow_client)
    code = passcode_outbox(EMAIL)
    assert code and code in mailoutbox[-1].body
    wrong = "000000" if code != "000000" else "111111"
    state = flow_client.act(state, "verify_passcode", {"code": wrong})
    done = flow_client.act(state, "verify_passcode", {"code": code})
    assert done.state == "success"

    assert code not in every_stored_row()
    assert code not in caplog.text
    assert all(code not in str(record.args) for record in caplog.records)
    pages = [
        "/admin/hankoflow/outboxemail/",
        f"/admin/hankoflow/outboxemail/{OutboxEmail.objects.get().pk}/change/",
        "/admin/hankoflow/auditlogentry/",
        f"/admin/hankoflow/flow/{Flow.objects.get().pk}/change/",
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        assert code not in response.content.decode(), page


# --- PC-02 a lifetime beyond NIST's 10 minutes is flagged -----------------------------------------


def deploy_ids() -> set[str]:
    return {m.id for m in run_checks(include_deployment_checks=True, tags=["hankoflow"])}


def test_a_passcode_lifetime_over_ten_minutes_is_a_deploy_warning():
    assert "hankoflow.W018" not in deploy_ids()
    with override_settings(HANKOFLOW={"EMAIL": {"PASSCODE_TTL": 600}}):
        assert "hankoflow.W018" not in deploy_ids()
    with override_settings(HANKOFLOW={"EMAIL": {"PASSCODE_TTL": 601}}):
        assert "hankoflow.W018" in deploy_ids()


# --- PC-07 a code counts only in the flow it was sent for -----------------------------------------


def test_a_code_sent_for_one_flow_cannot_verify_another(account_factory, passcode_outbox):
    account_factory(EMAIL)
    first, second = FlowClient(), FlowClient()
    first_state = to_passcode_confirmation(first)
    first_code = passcode_outbox(EMAIL)
    second_state = to_passcode_confirmation(second)
    second_code = passcode_outbox(EMAIL)
    if first_code == second_code:  # one in a million: nothing to tell apart
        pytest.skip("both flows drew the same code")
    crossed = second.act(second_state, "verify_passcode", {"code": first_code})
    assert crossed.input_error("verify_passcode", "code") == "passcode_invalid"
    assert first.act(first_state, "verify_passcode", {"code": first_code}).state == "success"
    assert second.act(crossed, "verify_passcode", {"code": second_code}).state == "success"


def test_a_code_for_another_address_cannot_verify_this_one(account_factory, passcode_outbox):
    """The passcode id lives in the flow's server-side stash; the client cannot name another."""
    account_factory(EMAIL)
    account_factory("john@example.com")
    john = FlowClient()
    to_passcode_confirmation(john, "john@example.com")
    johns_code = passcode_outbox("john@example.com")
    jane = FlowClient()
    state = to_passcode_confirmation(jane)
    if johns_code == passcode_outbox(EMAIL):
        pytest.skip("both flows drew the same code")
    crossed = jane.act(state, "verify_passcode", {"code": johns_code, "passcode_id": "x"})
    assert crossed.input_error("verify_passcode", "code") == "passcode_invalid"


# --- PC-09 mail content, language and host --------------------------------------------------------


def test_an_unknown_host_is_refused_before_any_mail(db, mailoutbox):
    response = Client(HTTP_HOST="evil.example").post("/login", b"", content_type="application/json")
    assert response.status_code == 400
    assert mailoutbox == []


@override_settings(ALLOWED_HOSTS=["testserver", "attacker.example"])
def test_the_mail_names_no_host_of_the_request(account_factory, passcode_outbox, mailoutbox):
    """A passcode mail carries no link at all: a forged Host header has nothing to bend."""
    account_factory(EMAIL)
    to_passcode_confirmation(FlowClient(Client(HTTP_HOST="attacker.example")))
    message = mailoutbox[-1]
    html = message.alternatives[0][0] if message.alternatives else ""
    assert "attacker.example" not in message.body + html + message.subject
