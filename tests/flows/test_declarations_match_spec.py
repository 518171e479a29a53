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

from hankoflow import names as n
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
    "profile": {"login_init", "login_method_chooser", "login_password_recovery"}
    | {"mfa_method_chooser", "mfa_security_key_creation"},
}
# Beyond Hanko: re-authentication before a sensitive profile change reaches these login states
# (actions/profile/reauthentication.py). Hanko's profile has none of them; Hanko's login has them,
# and its clients render them by name, so they are checked against the login flow's catalogue
# entry. Hanko's login_otp and login_security_key have no ``back``; ours do, to leave the
# re-authentication.
BEYOND_HANKO = {
    "profile": {
        "login_passkey": {n.STASH_REAUTHENTICATION_METHOD: n.LOGIN_METHOD_PASSKEY},
        "login_password": {n.STASH_REAUTHENTICATION_METHOD: n.LOGIN_METHOD_PASSWORD},
        "login_security_key": {n.STASH_REAUTHENTICATION_METHOD: n.LOGIN_METHOD_PASSWORD},
        "login_otp": {n.STASH_REAUTHENTICATION_METHOD: n.LOGIN_METHOD_PASSWORD},
    }
}
BEYOND_HANKO_EXTRA_ACTIONS = {"back"}


def declared():
    for flow_name, flow in FLOWS.items():
        for state in flow.states.values():
            yield flow_name, state


def catalogue_entry(flow_name, state_name):
    """The catalogue's entry for a state we declare: the login flow's for beyond-Hanko ones."""
    if state_name in BEYOND_HANKO.get(flow_name, {}):
        return CATALOGUE["login"][state_name]
    return CATALOGUE[flow_name][state_name]


@pytest.mark.parametrize(("flow_name", "state"), list(declared()), ids=str)
def test_state_and_actions_exist_in_hankos_catalogue(flow_name, state):
    if state.name in UNREACHABLE.get(flow_name, set()):
        return
    if state.name not in BEYOND_HANKO.get(flow_name, {}):
        assert state.name in CATALOGUE[flow_name], f"{flow_name} has no state {state.name}"
    offered = catalogue_entry(flow_name, state.name)["actions"]
    beyond = state.name in BEYOND_HANKO.get(flow_name, {})
    for action_type in state.actions:
        if beyond and action_type.name in BEYOND_HANKO_EXTRA_ACTIONS:
            continue
        assert action_type.name in offered, f"{state.name} offers no {action_type.name}"


@pytest.mark.parametrize(("flow_name", "state"), list(declared()), ids=str)
def test_inputs_match_hankos_default_configuration(flow_name, state, settings, db):
    # ``db``: some profile actions look the session user up while they initialise.
    settings.HANKOFLOW = {"SESSION": {"COOKIE": {"RETENTION": "prompt"}}}  # offer remember_me
    if state.name in UNREACHABLE.get(flow_name, set()):
        return
    beyond = BEYOND_HANKO.get(flow_name, {}).get(state.name)
    data = {}
    if beyond is not None:
        # The stash of a re-authentication that asks for this state's method, so that its
        # actions are offered and their inputs checked.
        data = {
            **beyond,
            n.STASH_WEBAUTHN_AVAILABLE: True,
            n.STASH_REAUTHENTICATION_SECOND_FACTOR: ["login_security_key", "login_otp"],
        }
    for action_type in state.actions:
        stash = Stash(state=state.name, data=dict(data))
        setup = ActionSetup(FLOWS[flow_name], "id", stash, None, {})
        action_type().initialize(setup)
        if setup.suspended:
            assert beyond is None or action_type.name in BEYOND_HANKO_EXTRA_ACTIONS, (
                f"{state.name}.{action_type.name} is not offered in a re-authentication"
            )
            continue
        if beyond is not None and action_type.name in BEYOND_HANKO_EXTRA_ACTIONS:
            assert not setup.inputs
            continue
        entry = catalogue_entry(flow_name, state.name)
        expected = entry["actions"][action_type.name]["inputs"]
        for name, item in setup.inputs.items():
            assert name in expected, f"{action_type.name} has no input {name}"
            spec = expected[name]
            assert (item.type, item.required, item.min_length, item.max_length) == (
                spec["type"],
                spec["required"],
                spec["min_length"],
                spec["max_length"],
            ), f"{flow_name}.{state.name}.{action_type.name}.{name}"
