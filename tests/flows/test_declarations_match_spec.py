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
from hankoflow.models import Identity

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
# Beyond Hanko (issue 15): flows Hanko does not have, served by both dialects (in Hanko's at
# ``POST /<flow>``). A state of theirs that carries a Hanko name is that Hanko state, with its
# actions and inputs, so it is checked against the Hanko flow it is borrowed from; the states
# Hanko has no name for are their own, listed here with their actions.
BEYOND_HANKO_FLOWS = {
    n.FLOW_PASSWORD_RECOVERY: n.FLOW_LOGIN,
    n.FLOW_INVITED_REGISTRATION: n.FLOW_REGISTRATION,
}
OWN_STATES = {
    n.FLOW_PASSWORD_RECOVERY: {
        n.STATE_PASSWORD_RECOVERY_INIT: {n.ACTION_CONTINUE_WITH_RECOVERY_IDENTIFIER},
        n.STATE_PASSWORD_CHANGED: set(),
    },
    n.FLOW_INVITED_REGISTRATION: {
        n.STATE_INVITED_REGISTRATION_INIT: {n.ACTION_REDEEM_INVITATION},
    },
}
# credential_usage states without an entry path in the standalone recovery.
UNREACHABLE[n.FLOW_PASSWORD_RECOVERY] = _LOGIN_ONLY - {
    "login_password_recovery",
    "login_passkey",  # a security key as the second factor
} | {"thirdparty"}


def declared():
    for flow_name, flow in FLOWS.items():
        if flow_name not in CATALOGUE:
            continue  # a flow beyond Hanko (issue 15) has no entry to match
        for state in flow.states.values():
            yield flow_name, state


def catalogue_entry(flow_name, state_name):
    """The catalogue's entry for a state we declare: the login flow's for beyond-Hanko ones, the
    borrowed-from flow's for a beyond-Hanko flow."""
    if state_name in BEYOND_HANKO.get(flow_name, {}):
        return CATALOGUE["login"][state_name]
    return CATALOGUE[BEYOND_HANKO_FLOWS.get(flow_name, flow_name)][state_name]


def test_every_flow_is_hankos_or_explicitly_beyond_hanko():
    assert set(FLOWS) == set(CATALOGUE) | set(BEYOND_HANKO_FLOWS)
    assert not set(BEYOND_HANKO_FLOWS) & set(CATALOGUE)
    for flow_name, own in OWN_STATES.items():
        for state_name, actions in own.items():
            assert state_name not in CATALOGUE[BEYOND_HANKO_FLOWS[flow_name]], state_name
            declared = {a.name for a in FLOWS[flow_name].state(state_name).actions}
            assert declared == actions, state_name


@pytest.mark.parametrize(("flow_name", "state"), list(declared()), ids=str)
def test_state_and_actions_exist_in_hankos_catalogue(flow_name, state):
    if state.name in UNREACHABLE.get(flow_name, set()):
        return
    if state.name in OWN_STATES.get(flow_name, {}):
        return  # test_every_flow_is_hankos_or_explicitly_beyond_hanko
    if state.name not in BEYOND_HANKO.get(flow_name, {}):
        hankos = BEYOND_HANKO_FLOWS.get(flow_name, flow_name)
        assert state.name in CATALOGUE[hankos], f"{flow_name} has no state {state.name}"
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
    if state.name in OWN_STATES.get(flow_name, {}):
        return  # their inputs are tested with their flows (test_password_recovery_flow.py, ...)
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


def test_connect_inputs_match_with_a_provider_on(settings, account_factory, db):
    # Suspended in Hanko's default configuration (no provider): checked here with one on.
    settings.HANKOFLOW = {
        "THIRD_PARTY": {
            "ALLOWED_REDIRECT_URLS": ["https://app.example.com/**"],
            "ERROR_REDIRECT_URL": "https://app.example.com/error",
            "PROVIDERS": {"github": {"ENABLED": True, "CLIENT_ID": "id", "SECRET": "secret"}},
        }
    }
    account = account_factory("connect@example.com")
    Identity.objects.create(account=account, provider_id="github", subject="gh-1")
    on = {"ENABLED": True, "CLIENT_ID": "id", "SECRET": "secret"}
    third_party = settings.HANKOFLOW["THIRD_PARTY"]
    settings.HANKOFLOW = {"THIRD_PARTY": {**third_party, "PROVIDERS": {"github": on, "google": on}}}
    expected = CATALOGUE["profile"]["profile_init"]["actions"]
    state = FLOWS["profile"].state(n.STATE_PROFILE_INIT)
    for action_type in state.actions:
        if "thirdparty" not in action_type.name:
            continue
        stash = Stash(state=state.name, data={})
        setup = ActionSetup(FLOWS["profile"], "id", stash, None, {}, memo={"account": account})
        action_type().initialize(setup)
        assert not setup.suspended, action_type.name
        inputs = expected[action_type.name]["inputs"]
        assert set(setup.inputs) == set(inputs), action_type.name
        for name, item in setup.inputs.items():
            spec = inputs[name]
            assert (item.type, item.required, item.min_length, item.max_length) == (
                spec["type"],
                spec["required"],
                spec["min_length"],
                spec["max_length"],
            )
