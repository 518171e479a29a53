"""Every state and action we declare exists in Hanko's catalogue, with the same inputs.

``flow-states.json`` (the machine-readable flow-api.md) lists, per flow and state, every action
Hanko can offer and every input it declares under the default configuration. Whatever we serve
must be a subset with identical input metadata, so Hanko's clients cannot tell us apart.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hankoflow.engine import ActionSetup, Stash
from hankoflow.flows.registry import FLOWS

REPO = Path(__file__).resolve().parents[2]
SPEC = Path(os.environ.get("HANKOFLOW_SHARED_DIR", REPO.parent / "shared")) / "spec"
CATALOGUE = json.loads((SPEC / "flow-states.json").read_text())
# Registered but unreachable states (flow-api.md §4.2.1, §4.4): credential_usage states with no
# entry path in these flows.
_LOGIN_ONLY = {
    "login_init",
    "login_method_chooser",
    "login_password",
    "login_password_recovery",
    "login_passkey",
}
UNREACHABLE = {
    "registration": _LOGIN_ONLY,
    "token_exchange": _LOGIN_ONLY,
    # flow-api.md §4.3.1: registered in profile, but no action leads there.
    "profile": _LOGIN_ONLY | {"mfa_method_chooser", "mfa_security_key_creation"},
}


def declared():
    for flow_name, flow in FLOWS.items():
        for state in flow.states.values():
            yield flow_name, state


@pytest.mark.parametrize(("flow_name", "state"), list(declared()), ids=str)
def test_state_and_actions_exist_in_hankos_catalogue(flow_name, state):
    if state.name in UNREACHABLE.get(flow_name, set()):
        return
    assert state.name in CATALOGUE[flow_name], f"{flow_name} has no state {state.name}"
    offered = CATALOGUE[flow_name][state.name]["actions"]
    for action_type in state.actions:
        assert action_type.name in offered, f"{state.name} offers no {action_type.name}"


@pytest.mark.parametrize(("flow_name", "state"), list(declared()), ids=str)
def test_inputs_match_hankos_default_configuration(flow_name, state, settings):
    settings.HANKOFLOW = {"SESSION": {"COOKIE": {"RETENTION": "prompt"}}}  # offer remember_me
    if state.name in UNREACHABLE.get(flow_name, set()):
        return
    for action_type in state.actions:
        setup = ActionSetup(FLOWS[flow_name], "id", Stash(state=state.name), None, {})
        action_type().initialize(setup)
        if setup.suspended:
            continue
        expected = CATALOGUE[flow_name][state.name]["actions"][action_type.name]["inputs"]
        for name, item in setup.inputs.items():
            assert name in expected, f"{action_type.name} has no input {name}"
            spec = expected[name]
            assert (item.type, item.required, item.min_length, item.max_length) == (
                spec["type"],
                spec["required"],
                spec["min_length"],
                spec["max_length"],
            ), f"{flow_name}.{state.name}.{action_type.name}.{name}"
