"""Flow declarations: the flat state registry, owners, hooks and build-time checks (§2.1, §2.7)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from hankoflow.engine import (
    Action,
    Back,
    Flow,
    FlowEngine,
    Hook,
    MemoryFlowStore,
    StateDefinition,
    SubFlow,
    UnknownStateError,
)


class Alpha(Action):
    name = "alpha"
    description = "Alpha."


class AlphaAgain(Action):
    name = "alpha"
    description = "Another action called alpha."


class Beta(Action):
    name = "beta"
    description = "Beta."


class Gamma(Action):
    name = "gamma"
    description = "Gamma."


class H1(Hook):
    pass


class H2(Hook):
    pass


class H3(Hook):
    pass


def flow(*subflows: SubFlow, name: str = "main") -> Flow:
    return Flow(name).state("home", Alpha).initial_states("home").subflows(*subflows)


# --- the flat registry --------------------------------------------------------------------------


def test_states_of_nested_subflows_are_merged_into_one_registry_with_their_owners():
    inner = SubFlow("inner").state("deep", Gamma)
    outer = SubFlow("outer").state("mid", Beta).subflows(inner)
    other = SubFlow("other").state("side", Alpha, Beta)
    definition = flow(outer, other).build()

    assert set(definition.states) == {"home", "mid", "deep", "side", "error"}
    assert definition.states["home"] == StateDefinition("home", (Alpha,), "main")
    assert definition.states["mid"] == StateDefinition("mid", (Beta,), "outer")
    assert definition.states["deep"] == StateDefinition("deep", (Gamma,), "inner")
    assert definition.states["side"] == StateDefinition("side", (Alpha, Beta), "other")


def test_flows_own_declaration_wins_even_when_written_after_its_subflows():
    sub = SubFlow("sub").state("shared", Beta, Back)
    definition = Flow("main").subflows(sub).state("shared", Alpha).initial_states("shared").build()
    assert definition.state("shared") == StateDefinition("shared", (Alpha,), "main")


@pytest.mark.parametrize(
    ("subflows", "winner", "owner"),
    [
        # earlier sub-flow beats a later one
        (
            lambda: [SubFlow("a").state("s", Alpha), SubFlow("b").state("s", Beta)],
            (Alpha,),
            "a",
        ),
        # depth-first: the first sub-flow's own sub-flow beats a later sibling
        (
            lambda: [
                SubFlow("a").subflows(SubFlow("a1").state("s", Gamma)),
                SubFlow("b").state("s", Beta),
            ],
            (Gamma,),
            "a1",
        ),
        # a sub-flow's own state beats its nested sub-flow's
        (
            lambda: [SubFlow("a").state("s", Alpha).subflows(SubFlow("a1").state("s", Gamma))],
            (Alpha,),
            "a",
        ),
        # within one sub-flow the first ``state()`` call wins
        (lambda: [SubFlow("a").state("s", Alpha).state("s", Beta)], (Alpha,), "a"),
    ],
)
def test_first_declaration_of_a_state_wins(subflows, winner, owner):
    definition = flow(*subflows()).build()
    assert definition.state("s").actions == winner
    assert definition.state("s").owner == owner


def test_subflow_included_twice_is_registered_once():
    shared = SubFlow("shared").state("s", Alpha).before_state("s", H1)
    definition = flow(SubFlow("a").subflows(shared), SubFlow("b").subflows(shared)).build()
    assert definition.state("s").owner == "shared"
    assert definition.before_state["s"] == (H1,)


def test_state_action_lookup_by_name():
    state = flow(SubFlow("sub").state("s", Alpha, Beta)).build().state("s")
    assert state.action("beta") is Beta
    assert state.action("gamma") is None


# --- error state --------------------------------------------------------------------------------


@pytest.mark.parametrize(("configured", "expected"), [(None, "error"), ("failed", "failed")])
def test_error_state_is_added_without_actions(configured, expected):
    builder = flow()
    if configured:
        builder.error_state(configured)
    definition = builder.build()
    assert definition.error_state == expected
    assert definition.state(expected) == StateDefinition(expected, (), "main")


# --- build-time checks --------------------------------------------------------------------------


@pytest.mark.parametrize("actions", [(Alpha, Alpha), (Alpha, Beta, AlphaAgain)])
@pytest.mark.parametrize("in_subflow", [False, True])
def test_state_declaring_an_action_name_twice_is_rejected(actions, in_subflow):
    if in_subflow:
        builder = flow(SubFlow("sub").state("dup", *actions))
    else:
        builder = flow().state("dup", *actions)
    with pytest.raises(ValueError, match="declares an action name twice"):
        builder.build()


def test_same_action_in_different_states_is_fine():
    definition = flow().state("other", Alpha).build()
    assert definition.state("home").action("alpha") is definition.state("other").action("alpha")


def test_flow_without_initial_state_is_rejected():
    with pytest.raises(ValueError, match="no initial state"):
        Flow("main").state("home", Alpha).build()


def test_unknown_initial_state_is_rejected():
    with pytest.raises(UnknownStateError, match="'nowhere'"):
        Flow("main").state("home", Alpha).initial_states("home", "nowhere").build()


@pytest.mark.parametrize("name", ["nowhere", "", "HOME", "home "])
def test_unknown_state_lookup_raises_unknown_state_error(name):
    definition = flow().build()
    with pytest.raises(UnknownStateError) as caught:
        definition.state(name)
    assert isinstance(caught.value, LookupError)
    assert f"state {name!r} is not part of flow 'main'" in str(caught.value)


def test_definition_is_immutable():
    definition = flow().build()
    with pytest.raises(dataclasses.FrozenInstanceError):
        definition.name = "other"  # type: ignore[misc]


# --- initial states and lifetime ----------------------------------------------------------------


def test_initial_states_keep_their_order():
    definition = (
        Flow("main").state("a", Alpha).state("b", Beta).initial_states("b", "a", "error").build()
    )
    assert definition.initial_states == ("b", "a", "error")


def test_ttl_defaults_to_an_hour_and_can_be_set_or_overridden_by_the_engine():
    assert flow().build().ttl_seconds == 3600
    definition = flow().ttl(60).build()
    assert definition.ttl_seconds == 60
    assert FlowEngine(definition, MemoryFlowStore()).ttl == timedelta(seconds=60)
    assert FlowEngine(definition, MemoryFlowStore(), ttl_seconds=5).ttl == timedelta(seconds=5)


# --- hooks --------------------------------------------------------------------------------------


def test_subflow_hooks_come_before_the_flows_own_and_keep_their_written_order():
    sub = SubFlow("sub").state("s", Beta).before_state("s", H2, H1).after_state("s", H3)
    definition = (
        flow(sub).before_state("s", H3).before_state("home", H1).after_state("s", H1, H2).build()
    )
    assert definition.before_state == {"s": (H2, H1, H3), "home": (H1,)}
    assert definition.after_state == {"s": (H3, H1, H2)}


def test_hooks_registered_twice_for_a_state_run_once():
    sub = SubFlow("sub").state("s", Beta).before_state("s", H1, H2)
    definition = flow(sub).before_state("s", H2, H1, H2).before_state("s", H1).build()
    assert definition.before_state["s"] == (H1, H2)


def test_after_flow_hooks_are_keyed_by_subflow_name():
    sub = SubFlow("sub").state("s", Beta).after_flow("inner", H2)
    definition = flow(sub).after_flow("sub", H1).build()
    assert definition.after_flow == {"sub": (H1,), "inner": (H2,)}


def test_before_each_action_hooks_belong_to_the_top_level_flow():
    assert flow().build().before_each_action == ()
    assert flow().before_each_action(H1, H2).build().before_each_action == (H1, H2)
