"""Fuzz the Flow API (``openapi-flow.yaml``: ``/login``, ``/registration``, ``/profile``,
``/token_exchange``) in both of its request shapes (security-checks IN-01, IN-03):

- initialisation and garbage: the generated case as it is (no or a made-up ``action``, any body);
- action execution: a real flow is started and walked a few steps (``STEPS``), then the case
  executes one of the state's real actions (``action=<name>@<flow id>``), mostly with the
  state's real CSRF token, its generated ``input_data`` standing in for the inputs.

No server error, and every answer as the corrected document describes it.
"""

from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis.core import NOT_SET
from werkzeug.test import Client

from hankoflow.models.outbox import OutboxEmail
from hankoflow.services.mail import encryption
from hankoflow.testing.openapi import flow_response_errors, load_flow_spec
from tests.fuzz.harness import (
    FLOW_EXAMPLES,
    FUZZ_SETTINGS,
    MODES,
    judge,
    load_schema,
    operations,
    run_bounded,
)

pytestmark = pytest.mark.slow

SCHEMA = load_schema(load_flow_spec(), "/")
OPERATIONS = {op.path.strip("/"): op for op in operations(SCHEMA)}

CAPABILITIES = ("register_client_capabilities", {"webauthn_available": True})
NEW_ADDRESSES = (f"fuzz.{n}@example.com" for n in itertools.count())


def steps(flow: str, email: str) -> list[tuple[str, dict[str, Any]]]:
    """The actions that walk ``flow`` from its first state into the ones worth fuzzing; a
    callable input value is called when the step is taken."""
    new = next(NEW_ADDRESSES)  # a sign-up that gets as far as a password, once per walk
    walks = {
        "login": [
            CAPABILITIES,
            ("continue_with_login_identifier", {"identifier": email}),
            ("continue_to_password_login", {}),
        ],
        "registration": [
            CAPABILITIES,
            ("register_login_identifier", {"email": new}),
            ("verify_passcode", {"code": lambda: sent_code(new)}),
        ],
        "profile": [CAPABILITIES],
        "token_exchange": [],
    }
    return walks[flow]


def depths(steps: int) -> list[int]:
    """How far to walk before the case: -1 sends the case as generated, 0 right after the
    flow starts; the states further in (the ones with inputs) twice as often."""
    return [-1, 0, *range(1, steps + 1), *range(1, steps + 1)]


def sent_code(address: str) -> str:
    """The code last queued for ``address`` (the outbox row: the mail itself goes out after a
    commit, which never comes inside the test's transaction); a wrong one when none was."""
    row = OutboxEmail.objects.filter(to=address).order_by("-created_at").first()
    secret = encryption.decrypt(row.secret) if row is not None and row.secret else {}
    return secret.get("code") or "000000"


def conformance(case, answer):
    return flow_response_errors(case.operation.path, answer.status, answer.body)


class Walker:
    """Starts and walks a real flow with plain WSGI requests (Django's test client would turn
    the connection-closing signals back on)."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.client = Client(WSGIHandler())
        self.headers = headers

    def post(self, url: str, body: dict[str, Any] | None) -> dict[str, Any]:
        data = json.dumps(body) if body is not None else ""
        response = self.client.post(
            url, data=data, headers={**self.headers, "Content-Type": "application/json"}
        )
        assert response.status_code < 500, response.get_data(as_text=True)
        return json.loads(response.get_data())

    def walk(self, flow: str, walk: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
        state = self.post(f"/{flow}", None)
        for action, input_data in walk:
            if action not in state.get("actions", {}):
                break
            offered = state["actions"][action]
            # An input the state does not declare (e.g. `identifier` where only `email` is) is
            # sent under the declared name.
            inputs = {
                (name if name in offered["inputs"] else next(iter(offered["inputs"]), name)): (
                    value() if callable(value) else value
                )
                for name, value in input_data.items()
            }
            body = {"input_data": inputs, "csrf_token": state["csrf_token"]}
            state = self.post(offered["href"], body)
        return state


# Mostly the state's own token, so that the inputs are what is tested.
REAL_CSRF = (True, True, True, False)


def with_token(case: Any, token: str) -> None:
    """Put the real CSRF token into the case's body (a made-up body of another JSON type stays
    as it is: that is its test)."""
    if case.body is NOT_SET or case.body is None:
        case.body, case.media_type = {}, "application/json"
    if isinstance(case.body, dict):
        case.body = {**case.body, "csrf_token": token}


def action_param(href: str) -> str:
    return parse_qs(urlsplit(href).query)["action"][0]


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
@pytest.mark.parametrize("flow", sorted(OPERATIONS))
def test_flow_operation(flow, mode, fuzz_app, person):
    operation = OPERATIONS[flow]
    email = person.account.emails.get().address
    walk = steps(flow, email)
    headers = {"Authorization": f"Bearer {person.token}"} if flow == "profile" else {}
    walker = Walker(headers)

    @settings(FUZZ_SETTINGS, max_examples=FLOW_EXAMPLES)
    @given(
        case=operation.as_strategy(generation_mode=mode),
        depth=st.sampled_from(depths(len(walk))),
        data=st.data(),
    )
    def run(case, depth, data):
        if depth >= 0:  # else: the case as generated (initialisation, made-up action)
            state = walker.walk(flow, steps(flow, email)[:depth])
            actions = sorted(state.get("actions", {}))
            if actions:
                name = data.draw(st.sampled_from(actions), label="action")
                case.query = {
                    **(case.query or {}),
                    "action": action_param(state["actions"][name]["href"]),
                }
                if data.draw(st.sampled_from(REAL_CSRF), label="real csrf"):
                    with_token(case, state["csrf_token"])
        response = case.call(headers=headers)
        judge("flow", case, response, fuzz_app, conformance)

    run_bounded(run)
