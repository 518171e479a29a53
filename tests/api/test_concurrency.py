"""Two requests on one flow at once (flow-api.md §1.9, security-checks FL-05).

The version check on save decides: the first to save completes the step, every rival's save
matches no row (its token was rotated) and it gets the documented 403, and the flow has advanced
exactly once. Runs on PostgreSQL, where requests read the flow without a lock and run side by
side (``services.lazy_transaction``).
"""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from hankoflow.actions.capabilities import RegisterClientCapabilities
from hankoflow.models import Flow
from tests.concurrency import run_concurrently

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]

WORKERS = 6


def test_concurrent_actions_on_one_flow_execute_exactly_once(monkeypatch):
    start = Client().post("/login").json()
    href = start["actions"]["register_client_capabilities"]["href"]
    body = json.dumps(
        {"input_data": {"webauthn_available": True}, "csrf_token": start["csrf_token"]}
    )

    original = RegisterClientCapabilities.execute

    def slow_execute(self, ctx):
        time.sleep(0.3)  # long enough for every rival to have read the flow before a save
        return original(self, ctx)

    monkeypatch.setattr(RegisterClientCapabilities, "execute", slow_execute)

    def post() -> tuple[int, dict]:
        response = Client().post(href, body, content_type="application/json")
        return response.status_code, response.json()

    results = run_concurrently([post] * WORKERS, atomic=False)  # each request is its own step

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [403] * (WORKERS - 1), results
    losers = [body for status, body in results if status == 403]
    assert all(b["error"]["code"] == "operation_not_permitted_error" for b in losers)
    flow_id = href.split("%40")[1]
    row = Flow.objects.get(id=flow_id)
    assert row.version == 1 and row.state == "login_init"
    assert [step["action"] for step in row.history] == [None, "register_client_capabilities"]
