"""Drive the Django app in-process with schemathesis cases and judge every answer.

Cases come from Hanko's OpenAPI documents (the corrected copies of ``hankoflow.testing.openapi*``);
they go through Django's real WSGI handler (all middleware, ``DEBUG`` off, the JSON 500 handler),
in the test's own database transaction, and each answer must be:

1. no server error: no 5xx (unless ``differences.SERVER_STATUSES`` allows it) and no
   exception reaching Django's last-resort handler;
2. the schema's answer: the body, status and documented headers as ``openapi_flow`` /
   ``openapi_public`` / ``openapi_admin`` check them, whose correction tables and the allowances in
   ``tests/fuzz/differences.py`` are the documented deliberate differences.

``Stats`` counts operations and examples for the run's summary.
"""

from __future__ import annotations

import json
import os
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET

from tests.fuzz import differences

# Fixed seed (derandomize: one per test, from its name), bounded examples: the same cases on
# every run, a few minutes at most in CI. HANKOFLOW_FUZZ_EXAMPLES sets more for a long run.
EXAMPLES = int(os.environ.get("HANKOFLOW_FUZZ_EXAMPLES", "10"))  # per operation and mode
FLOW_EXAMPLES = 4 * EXAMPLES  # per flow and mode: four operations, two request shapes

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,  # no .hypothesis/ directory
    deadline=None,
    print_blob=False,
    phases=(Phase.explicit, Phase.generate),  # no shrinking: the first failing case is shown
    suppress_health_check=list(HealthCheck),
)

MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


@dataclass
class Stats:
    """What the run did: examples per API and operation, statuses seen."""

    examples: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)

    def record(self, api: str, label: str, status: int) -> None:
        self.examples[(api, label)] += 1
        self.statuses[(api, status)] += 1

    def operations(self, api: str | None = None) -> int:
        return len({key for key in self.examples if api is None or key[0] == api})

    def total(self, api: str | None = None) -> int:
        return sum(n for key, n in self.examples.items() if api is None or key[0] == api)


STATS = Stats()


# --- schemas --------------------------------------------------------------------------------


def load_schema(spec: dict[str, Any], base_path: str) -> Any:
    """A schemathesis schema of a (corrected) document, served under ``base_path``."""
    # A copy (the checkers' cached document stays untouched) in JSON types: YAML made dates of
    # some examples.
    spec = json.loads(json.dumps(spec, default=_json_value))
    spec["servers"] = [{"url": base_path}]
    schema = schemathesis.openapi.from_dict(spec)
    schema.app = WSGIHandler()
    return schema


def _json_value(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} in an OpenAPI document")


def operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


# --- calling the app ------------------------------------------------------------------------


@dataclass
class Captured:
    """Exceptions that reached Django's last-resort handler (``got_request_exception``)."""

    tracebacks: list[str] = field(default_factory=list)


@contextmanager
def in_process() -> Iterator[Captured]:
    """Serve WSGI requests inside the test's transaction and capture unhandled exceptions.

    Django closes the connection at the start and end of each request; the test client turns
    that off for its requests, and so do we, or the first request would end the test's
    transaction.
    """
    captured = Captured()

    def on_exception(sender: Any, request: Any = None, **kwargs: Any) -> None:
        captured.tracebacks.append(traceback.format_exc())

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    signals.got_request_exception.connect(on_exception)
    try:
        yield captured
    finally:
        signals.got_request_exception.disconnect(on_exception)
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    content_type: str
    body: Any  # parsed JSON, text, or None when empty


def parse(response: Any) -> Answer:
    headers = {name: values[-1] for name, values in response.headers.items()}
    content_type = headers.get("content-type", "")
    if not response.content:
        body = None
    elif content_type.startswith("application/json"):
        try:
            body = json.loads(response.content)
        except ValueError:
            body = response.content.decode("utf-8", "replace")
    else:
        body = response.content.decode("utf-8", "replace")
    return Answer(response.status_code, headers, content_type, body)


def describe_case(case: Any) -> str:
    body = "" if case.body is NOT_SET else f" body={case.body!r:.300}"
    return (
        f"{case.method} {case.formatted_path} query={case.query!r:.200} "
        f"headers={dict(case.headers or {})!r:.200}{body}"
    )


def error_body_problems(answer: Answer) -> list[str]:
    """Hanko's error body: ``{"code": <the HTTP status>, "message": <text>}``."""
    body = answer.body
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        return [f"not Hanko's error body: {body!r:.200}"]
    if body.get("code") != answer.status:
        return [f"$.code: {body.get('code')!r} differs from the HTTP status {answer.status}"]
    return []


def judge(
    api: str,
    case: Any,
    response: Any,
    captured: Captured,
    conformance: Callable[[Any, Answer], list[str]],
) -> None:
    """Fail with a readable message unless the answer is no server error and conforms."""
    answer = parse(response)
    label = f"{case.method} {case.operation.path}"
    STATS.record(api, label, answer.status)
    problems: list[str] = []
    if captured.tracebacks:
        problems.append("unhandled exception:\n" + captured.tracebacks.pop())
        captured.tracebacks.clear()
    if answer.status >= 500 and not differences.server_status_allowed(
        api, case.method, case.operation.path, answer.status
    ):
        problems.append(f"server error {answer.status}: {answer.body!r:.500}")
    if not problems:
        if differences.undocumented(api, case.method, case.operation.path, answer.status):
            problems.extend(error_body_problems(answer))
        else:
            problems.extend(conformance(case, answer))
    if problems:
        raise AssertionError(
            f"[{api}] {describe_case(case)}\n-> {answer.status} {answer.body!r:.500}\n  "
            + "\n  ".join(problems)
        )


def run_bounded(test: Callable[[], None]) -> None:
    """Run a ``@given`` test; skip when the operation leaves nothing to negate."""
    try:
        test()
    except Unsatisfiable:
        pytest.skip("no part of this operation can be made invalid")
