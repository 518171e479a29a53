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


class Refusing(Hook):
    def run(self, ctx):
        from hankoflow.engine import StepRefused

        ctx.stash.set("half", "done")
        raise StepRefused(errors.OPERATION_NOT_PERMITTED)


def test_a_hook_can_refuse_the_step():
    flow = (
        Flow("demo")
        .state("first", Go)
        .state("second")
        .before_state("second", Refusing)
        .initial_states("first")
        .build()
    )
    store = MemoryFlowStore()
    engine = FlowEngine(flow, store)
    start = engine.start()
    refused = engine.execute(f"go@{start.flow_id}", {}, start.csrf_token)
    assert refused.state == "first" and refused.status == 403
    assert refused.error == errors.OPERATION_NOT_PERMITTED
    stored = store.records[start.flow_id]
    assert stored.stash.state == "first" and "half" not in stored.stash.data
    assert stored.version == 1  # the refusal is a completed step: the token rotated
