"""``manage.py hankoflow_flows``: list, show, graph and simulate."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import override_settings

from hankoflow import names
from hankoflow.models import AuditLogEntry, Flow, OutboxEmail, Passcode
from hankoflow.testing.client import FlowClient

pytestmark = pytest.mark.django_db

EMAIL = "jane@example.com"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("hankoflow_flows", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def passcode_flow(flow_client: FlowClient, account_factory) -> Flow:
    """A login waiting for its passcode (an email was queued)."""
    account_factory(EMAIL)
    state = flow_client.start("login", User_Agent="TestBrowser/1")
    state = flow_client.act(
        state,
        "register_client_capabilities",
        {"webauthn_available": False},
        User_Agent="TestBrowser/1",
    )
    state = flow_client.act(state, "continue_with_login_identifier", {"email": EMAIL})
    state = flow_client.act(state, "continue_to_passcode_confirmation")
    assert state.state == "passcode_confirmation"
    return Flow.objects.get()


def test_list_shows_recent_flows_with_filters(passcode_flow):
    out = run("list")
    assert str(passcode_flow.id) in out and "in progress" in out
    assert str(passcode_flow.id) in run("list", "--user", EMAIL)
    assert "no flows match" in run("list", "--outcome", "succeeded")
    assert "no flows match" in run("list", "--flow", "registration")
    assert str(passcode_flow.id) in run("list", "--state", "passcode_confirmation")


def test_show_prints_the_timeline_redacted_stash_and_emails(passcode_flow):
    out = run("show", str(passcode_flow.id))
    assert "login_init --continue_with_login_identifier [email]--> login_method_chooser" in out
    assert "127.0.0.1  TestBrowser/1" in out
    assert f"{names.STASH_PASSCODE_ID}: {names.REDACTED}" in out
    assert passcode_flow.stash["data"][names.STASH_PASSCODE_ID] not in out
    assert f"login to {EMAIL}: sent" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "not-a-uuid"), "is not a flow id"),
        (("show", str(uuid.uuid4())), "no flow"),
        (("list", "--user", "nobody@example.com"), "no user has the address"),
        (("list", "--limit", "0"), "--limit must be at least 1"),
        (("simulate", "login", "--email", "nobody@example.com"), "no user has the address"),
    ],
)
def test_clear_errors(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_unknown_subcommand_or_flow_is_refused():
    with pytest.raises(CommandError):
        run("nope")
    with pytest.raises(CommandError):
        run("graph", "nope")


def test_graph_mermaid_and_dot():
    mermaid = run("graph", "login")
    assert mermaid.startswith("stateDiagram-v2")
    assert "login_init --> login_method_chooser: continue_with_login_identifier" in mermaid
    dot = run("graph", "registration", "--format", "dot")
    assert dot.startswith('digraph "registration"')
    assert '"registration_init" [shape=doublecircle]' not in dot or "->" in dot


def test_graph_leaves_out_actions_the_settings_switch_off(settings):
    assert ": password_login\n" in run("graph", "login")
    overrides = {**(getattr(settings, "HANKOFLOW", {}) or {}), "PASSWORD": {"ENABLED": False}}
    with override_settings(HANKOFLOW=overrides):
        assert ": password_login\n" not in run("graph", "login")


def test_simulate_prints_the_states_and_keeps_nothing(account_factory):
    account_factory(EMAIL, password="a long enough password")
    before = {model: model.objects.count() for model in (Flow, Passcode, OutboxEmail)}
    audit_before = AuditLogEntry.objects.count()
    out = run("simulate", "login", "--email", EMAIL)
    assert "continue_with_login_identifier -> login_method_chooser" in out
    assert "continue_to_passcode_confirmation -> passcode_confirmation" in out
    assert "continue_to_password_login -> login_password" in out
    assert {model: model.objects.count() for model in before} == before
    assert AuditLogEntry.objects.count() == audit_before
    assert mail.outbox == []


def test_help_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        call_command("hankoflow_flows", "--help")
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for word in ("list", "show", "graph", "simulate"):
        assert word in out
