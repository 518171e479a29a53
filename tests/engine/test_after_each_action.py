"""``after_each_action`` hooks run once per continuing action, not on errors or ``back``."""

from hankoflow import errors
from hankoflow.engine import Action, Back, Flow, FlowEngine, Hook, MemoryFlowStore

calls: list[str] = []


class Record(Hook):
    def run(self, ctx):
        calls.append(ctx.current_state)


class Go(Action):
    name = "go"
    description = "go"

    def execute(self, ctx):
        return ctx.continue_to("second")


class Refuse(Action):
    name = "refuse"
    description = "refuse"

    def execute(self, ctx):
        return ctx.error(errors.FORM_DATA_INVALID)


def test_after_each_action_runs_on_continue_only():
    calls.clear()
    flow = (
        Flow("demo")
        .state("first", Go, Refuse)
        .state("second", Back)
        .initial_states("first")
        .after_each_action(Record)
        .build()
    )
    engine = FlowEngine(flow, MemoryFlowStore())
    start = engine.start()
    refused = engine.execute(f"refuse@{start.flow_id}", {}, start.csrf_token)
    assert refused.status == 400 and calls == []
    moved = engine.execute(f"go@{start.flow_id}", {}, refused.csrf_token)
    assert moved.state == "second" and calls == ["first"]
    back = engine.execute(f"back@{start.flow_id}", {}, moved.csrf_token)
    assert back.state == "first" and calls == ["first"]
