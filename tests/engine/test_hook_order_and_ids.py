"""Hooks of several sub-flows run in listing order; only canonical UUIDs name a flow."""

import uuid

import pytest

from hankoflow.engine import ActionRef, Flow, Hook, SubFlow

order: list[str] = []


def hook(label: str) -> type[Hook]:
    return type(f"Hook{label}", (Hook,), {"run": lambda self, ctx: order.append(label)})


def test_subflow_hooks_run_in_listing_order_then_the_flows_own():
    a = SubFlow("a").state("s").before_state("s", hook("a"))
    b = SubFlow("b").before_state("s", hook("b"))
    flow = Flow("f").subflows(a, b).before_state("s", hook("own")).initial_states("s").build()
    labels = [h.__name__ for h in flow.before_state["s"]]
    assert labels == ["Hooka", "Hookb", "Hookown"]


@pytest.mark.parametrize(
    "flow_id",
    ["{%s}", "urn:uuid:%s", " %s", "%s ", "0x%s"],
)
def test_only_canonical_uuid_text_names_a_flow(flow_id):
    value = str(uuid.uuid4())
    assert ActionRef.parse(f"go@{flow_id % value}") is None


def test_uppercase_uuid_is_accepted_and_canonicalised():
    value = str(uuid.uuid4())
    assert ActionRef.parse(f"go@{value.upper()}") == ActionRef("go", value)
