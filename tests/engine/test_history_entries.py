"""The step record kept for flow inspection: input names (never values), IP and user agent."""

from __future__ import annotations

from dataclasses import dataclass

from .fakes import Env, Harness


@dataclass
class WebEnv(Env):
    """An env as the Django transport hands it: with the request's facts."""

    ip: str = "203.0.113.7"
    user_agent: str = "Browser/1"


def test_a_step_records_the_declared_input_names_sent_and_the_request_facts(store):
    harness = Harness(store)
    harness.env = WebEnv()
    harness.start()
    harness.act("go")
    harness.act("form", {"email": "secret-value@example.com", "junk": "x"})
    entry = harness.record.history[-1]
    assert entry["inputs"] == ["email"]  # declared and sent; an undeclared key is not recorded
    assert "secret-value" not in repr(harness.record.history)
    assert (entry["ip"], entry["user_agent"]) == ("203.0.113.7", "Browser/1")
    assert harness.record.history[0]["ip"] == "203.0.113.7"  # the start too
