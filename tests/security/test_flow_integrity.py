"""Flow integrity checks of ../shared/spec/security-checks.md §4 A (FL-01 ... FL-13) that the
suites elsewhere do not already prove; docs/security-checks.md maps every check to its tests."""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import quote

import pyotp
import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import settings as settings_
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from hankoflow.flows.registry import FLOWS
from hankoflow.models import AuditLogEntry, Flow, OutboxEmail, Passcode, Session
from hankoflow.testing.client import FlowClient
from tests.concurrency import run_concurrently

EMAIL = "jane@example.com"
PASSWORD = "a long enough password"
NO_WEBAUTHN = {"webauthn_available": False}


def flow_id_of(state) -> str:
    return state.action_param(next(iter(state.body["actions"]))).split("@")[1]


def snapshot(flow_id: str) -> tuple:
    row = Flow.objects.get(id=flow_id)
    return (row.state, row.stash, row.csrf_token_hash, row.version)


def side_effects() -> tuple[int, int, int, int]:
    """Rows a step could leave behind: emails queued, passcodes, sessions, audit entries."""
    return (
        OutboxEmail.objects.count(),
        Passcode.objects.count(),
        Session.objects.count(),
        AuditLogEntry.objects.count(),
    )


def login_init(flow_client: FlowClient):
    return flow_client.act(flow_client.start("login"), "register_client_capabilities", NO_WEBAUTHN)


def post(flow_client: FlowClient, flow: str, param: str, body: dict):
    return flow_client.post_raw(
        f"/{flow}?action={quote(param, safe='')}", json.dumps(body).encode()
    )


# --- FL-01 CSRF token required; no probing oracle -------------------------------------------------


@pytest.mark.parametrize("token", ["", "A" * 32, None, "other flow"])
def test_a_refused_token_sends_no_mail_and_changes_nothing(
    flow_client, account_factory, mailoutbox, token
):
    """The identifier step sends a passcode when it runs: with a bad token nothing at all."""
    account_factory(EMAIL)
    state = login_init(flow_client)
    if token == "other flow":
        token = login_init(FlowClient()).csrf_token
    flow_id = flow_id_of(state)
    before, effects = snapshot(flow_id), side_effects()
    body = {"input_data": {"email": EMAIL}}
    if token is not None:
        body["csrf_token"] = token
    refused = flow_client.post_raw(
        state.href("continue_with_login_identifier"), json.dumps(body).encode()
    )
    assert refused.status == 403 and refused.error_code == "operation_not_permitted_error"
    assert snapshot(flow_id) == before
    assert side_effects() == effects
    assert mailoutbox == []


def test_every_refusal_answers_the_same_body(flow_client):
    """Wrong token, unknown flow, malformed parameter, another flow's endpoint: one answer."""
    state = login_init(flow_client)
    flow_id = flow_id_of(state)
    good = {"input_data": {}, "csrf_token": state.csrf_token}
    answers = [
        post(flow_client, "login", f"continue_with_login_identifier@{flow_id}", {"input_data": {}}),
        post(flow_client, "login", f"continue_with_login_identifier@{uuid.uuid4()}", good),
        post(flow_client, "login", "a@b@c", good),
        post(flow_client, "registration", f"continue_with_login_identifier@{flow_id}", good),
        post(flow_client, "login", f"no_such_action@{flow_id}", good),
    ]
    assert {a.status for a in answers} == {403}
    assert all(a.body == answers[0].body for a in answers)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(param=st.text(min_size=1, max_size=200))
def test_any_action_parameter_is_refused_never_with_a_500(flow_client, param):
    response = flow_client.client.post(
        "/login",
        data=json.dumps({"input_data": {}, "csrf_token": "A" * 32}),
        content_type="application/json",
        QUERY_STRING=f"action={quote(param, safe='')}",
    )
    assert response.status_code in (400, 403), (param, response.status_code)


# --- FL-02 CSRF rotation and replay ---------------------------------------------------------------


def test_a_step_ending_in_a_validation_error_rotates_the_token_too(flow_client, account_factory):
    account_factory(EMAIL, password=PASSWORD)
    first = login_init(flow_client)
    second = flow_client.act(first, "continue_with_login_identifier", {"email": EMAIL})
    third = flow_client.act(second, "continue_to_password_login")
    wrong = flow_client.act(third, "password_login", {"password": "not the password"})
    assert wrong.status == 400 and wrong.state == "login_password"
    tokens = [first.csrf_token, second.csrf_token, third.csrf_token, wrong.csrf_token]
    assert len(set(tokens)) == 4  # the failed attempt got a new token as well
    flow_id = flow_id_of(wrong)
    before = snapshot(flow_id)
    for old in tokens[:3]:
        replay = flow_client.act(third, "password_login", {"password": PASSWORD}, csrf_token=old)
        assert replay.status == 403 and replay.error_code == "operation_not_permitted_error"
    assert snapshot(flow_id) == before
    assert flow_client.act(wrong, "password_login", {"password": PASSWORD}).state == "success"


# --- FL-03 only offered actions run ---------------------------------------------------------------


def every_action_name(flow: str) -> set[str]:
    names = {"back", "skip"}
    for state in FLOWS[flow].states.values():
        names.update(action.name for action in state.actions)
    return names


def assert_only_offered_actions_run(flow_client: FlowClient, state, flow: str) -> None:
    flow_id = flow_id_of(state)
    before, effects = snapshot(flow_id), side_effects()
    for name in sorted(every_action_name(flow) - set(state.body["actions"])):
        refused = post(
            flow_client,
            flow,
            f"{name}@{flow_id}",
            {"input_data": {"email": EMAIL, "password": PASSWORD}, "csrf_token": state.csrf_token},
        )
        assert refused.status == 403, (state.state, name, refused.status)
        assert refused.error_code == "operation_not_permitted_error"
    assert snapshot(flow_id) == before
    assert side_effects() == effects


def test_no_login_state_runs_an_action_it_does_not_offer(flow_client, account_factory, mailoutbox):
    secret = pyotp.random_base32()
    account_factory(EMAIL, password=PASSWORD, totp=secret)
    state = login_init(flow_client)
    assert_only_offered_actions_run(flow_client, state, "login")
    state = flow_client.act(state, "continue_with_login_identifier", {"email": EMAIL})
    assert state.state == "login_method_chooser"
    assert_only_offered_actions_run(flow_client, state, "login")
    state = flow_client.act(state, "continue_to_password_login")
    assert_only_offered_actions_run(flow_client, state, "login")
    state = flow_client.act(state, "password_login", {"password": PASSWORD})
    assert state.state == "login_otp"
    assert_only_offered_actions_run(flow_client, state, "login")
    assert mailoutbox == []


@pytest.mark.parametrize(
    ("config", "suspended"),
    [
        ({"PASSWORD": {"ENABLED": False}}, "continue_to_password_login"),
        ({"PASSWORD": {"ENABLED": False}}, "password_login"),
        ({"EMAIL": {"USE_FOR_AUTHENTICATION": False}}, "continue_to_passcode_confirmation"),
        ({"PASSWORD": {"RECOVERY": False}}, "continue_to_password_recovery"),
    ],
)
def test_an_action_switched_off_by_the_configuration_does_not_run(
    flow_client, account_factory, settings, mailoutbox, config, suspended
):
    settings.HANKOFLOW = config
    account_factory(EMAIL, password=PASSWORD)
    state = flow_client.act(
        login_init(flow_client), "continue_with_login_identifier", {"email": EMAIL}
    )
    mailoutbox.clear()
    assert suspended not in state.body["actions"]
    assert_only_offered_actions_run(flow_client, state, "login")
    assert mailoutbox == []


def test_skip_is_refused_when_mfa_is_mandatory(flow_client, passcode_outbox, settings):
    settings.HANKOFLOW = {"MFA": {"OPTIONAL": False}}
    state = flow_client.act(
        flow_client.start("registration"), "register_client_capabilities", NO_WEBAUTHN
    )
    state = flow_client.act(state, "register_login_identifier", {"email": EMAIL})
    state = flow_client.act(state, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    state = flow_client.act(state, "register_password", {"new_password": PASSWORD})
    assert state.state == "mfa_method_chooser"
    assert "skip" not in state.body["actions"]
    assert_only_offered_actions_run(flow_client, state, "registration")


# --- FL-07 back after a verified step -------------------------------------------------------------


def test_back_is_refused_once_the_passcode_verified_the_address(
    flow_client, passcode_outbox, mailoutbox
):
    state = flow_client.act(
        flow_client.start("registration"), "register_client_capabilities", NO_WEBAUTHN
    )
    state = flow_client.act(state, "register_login_identifier", {"email": EMAIL})
    assert "back" in state.body["actions"]  # before the code: the address may still change
    state = flow_client.act(state, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    assert state.state == "password_creation"
    assert "back" not in state.body["actions"]
    refused = post(
        flow_client,
        "registration",
        f"back@{flow_id_of(state)}",
        {"input_data": {}, "csrf_token": state.csrf_token},
    )
    assert refused.status == 403 and refused.error_code == "operation_not_permitted_error"


def test_back_is_refused_after_the_password_was_checked(flow_client, account_factory):
    account_factory(EMAIL, password=PASSWORD, totp=pyotp.random_base32())
    state = flow_client.act(
        login_init(flow_client), "continue_with_login_identifier", {"email": EMAIL}
    )
    state = flow_client.act(state, "continue_to_password_login")
    state = flow_client.act(state, "password_login", {"password": PASSWORD})
    assert state.state == "login_otp" and "back" not in state.body["actions"]
    refused = post(
        flow_client,
        "login",
        f"back@{flow_id_of(state)}",
        {"input_data": {}, "csrf_token": state.csrf_token},
    )
    assert refused.status == 403


# --- FL-08 MFA cannot be skipped; FL-09 amr -------------------------------------------------------


@pytest.mark.parametrize("first_factor", ["password", "passcode"])
def test_an_enrolled_app_is_required_after_either_first_factor(
    flow_client, account_factory, passcode_outbox, first_factor
):
    """An email passcode is no second factor: the TOTP step follows it as it follows a password,
    offers neither skip nor back, and the session's amr names both methods."""
    secret = pyotp.random_base32()
    account_factory(EMAIL, password=PASSWORD, totp=secret)
    state = flow_client.act(
        login_init(flow_client), "continue_with_login_identifier", {"email": EMAIL}
    )
    if first_factor == "password":
        state = flow_client.act(state, "continue_to_password_login")
        state = flow_client.act(state, "password_login", {"password": PASSWORD})
    else:
        state = flow_client.act(state, "continue_to_passcode_confirmation")
        state = flow_client.act(state, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    assert state.state == "login_otp"
    assert set(state.body["actions"]).isdisjoint({"skip", "back"})
    assert Session.objects.count() == 0
    assert_only_offered_actions_run(flow_client, state, "login")
    done = flow_client.act(state, "otp_code_validate", {"otp_code": pyotp.TOTP(secret).now()})
    while done.state != "success":  # device trust and onboarding prompts come after the factor
        assert Session.objects.count() == 0
        done = flow_client.act(
            done, next(a for a in ("skip", "trust_device") if a in done.body["actions"])
        )
    expected = {"password": ["pwd", "totp"], "passcode": ["otp", "totp"]}[first_factor]
    assert done.body["payload"]["claims"]["amr"] == expected


# --- FL-12 registration with an existing address --------------------------------------------------


def without_ids(body: dict) -> dict:
    """The state object without what differs between any two flows (ids and tokens)."""
    text = json.dumps(body).replace(body["csrf_token"], "<token>")
    return json.loads(
        re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", text)
    )


def test_registering_a_taken_address_looks_like_a_new_one(account_factory, mailoutbox):
    account_factory(EMAIL)
    answers = {}
    for email in (EMAIL, "new@example.com"):
        client = FlowClient()
        state = client.act(
            client.start("registration"), "register_client_capabilities", NO_WEBAUTHN
        )
        answers[email] = client.act(state, "register_login_identifier", {"email": email})
    taken, new = answers[EMAIL], answers["new@example.com"]
    assert (taken.status, taken.state) == (new.status, new.state) == (200, "passcode_confirmation")
    assert without_ids(taken.body) == without_ids(new.body)
    kinds = dict(OutboxEmail.objects.values_list("to", "kind"))
    assert kinds[EMAIL] != kinds["new@example.com"]  # the owner hears of the attempt, no code
    assert "attempt" in kinds[EMAIL]


# --- FL-05 concurrent requests on one flow (PostgreSQL) -------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("postgres_only")
def test_ten_identical_requests_send_one_passcode(account_factory, settings):
    """Ten copies of the step that sends a passcode, released at once: one completes, nine get
    the documented 403, and exactly one passcode and one email result.

    The copies read the flow side by side (services.lazy_transaction), so each asks the send
    limit before the first to save stops the others; the limit is raised here so that every
    copy passes it. With Hanko's 3 a minute, copies it refused race too, and one of them may be
    the one that completes, answering 429 with no passcode sent."""
    settings.HANKOFLOW = {
        **settings.HANKOFLOW,
        "PASSWORD": {"ENABLED": False},
        "RATE_LIMITER": {"PASSCODE_LIMITS": {"TOKENS": 10, "INTERVAL": 60}},
    }
    account_factory(EMAIL)
    state = login_init(FlowClient())
    href = state.href("continue_with_login_identifier")
    body = json.dumps({"input_data": {"email": EMAIL}, "csrf_token": state.csrf_token})

    def post() -> int:
        return Client().post(href, body, content_type="application/json").status_code

    statuses = sorted(run_concurrently([post] * 10, atomic=False))
    assert statuses == [200] + [403] * 9
    assert Passcode.objects.count() == 1
    assert OutboxEmail.objects.count() == 1


# --- FL-08 as a property: any sequence of offered actions -----------------------------------------


def test_no_sequence_of_actions_signs_in_without_the_enrolled_app(
    account_factory, passcode_outbox, settings, clock
):
    """A state machine (hypothesis, fixed seed) takes any offered action with right or wrong
    values, again and again; whenever a session is issued its amr holds the app's ``totp``."""
    settings.HANKOFLOW = {**settings.HANKOFLOW, "RATE_LIMITER": {"ENABLED": False}}
    secret = pyotp.random_base32()
    account_factory(EMAIL, password=PASSWORD, totp=secret, username="jane")

    def last_code() -> str:
        try:
            return passcode_outbox(EMAIL) or "000000"
        except AssertionError:  # no code sent yet
            return "000000"

    def value(name: str, right: bool):
        values = {
            "email": (EMAIL, "other@example.com"),
            "identifier": (EMAIL, "nobody"),
            "username": ("jane", "nobody"),
            "password": (PASSWORD, "not the password"),
            "new_password": ("another long password", "short"),
            "code": (last_code(), "000000"),
            "otp_code": (pyotp.TOTP(secret).at(clock.timestamp()), "000000"),
        }
        if name in values:
            return values[name][0 if right else 1]
        return False  # the booleans: no WebAuthn in this browser (no authenticator), no remember me

    mostly_right = st.sampled_from([True, True, True, False])

    class LoginMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.client = FlowClient()
            self.state = self.client.start("login")

        @rule(pick=st.integers(0, 50), right=st.lists(mostly_right, min_size=4, max_size=4))
        def take_an_offered_action(self, pick, right):
            actions = sorted(self.state.body.get("actions") or {})
            if not actions:
                return
            name = actions[pick % len(actions)]
            inputs = self.state.body["actions"][name].get("inputs") or {}
            data = {key: value(key, right[i % 4]) for i, key in enumerate(sorted(inputs))}
            before = Session.objects.count()
            clock.advance(seconds=31)  # a fresh TOTP step, and waits of the attempt budget pass
            self.state = self.client.act(self.state, name, data)
            if Session.objects.count() > before:
                assert self.state.state == "success"
                assert "totp" in self.state.body["payload"]["claims"]["amr"]

    run_state_machine_as_test(
        LoginMachine,
        settings=settings_(
            max_examples=20,
            stateful_step_count=15,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
