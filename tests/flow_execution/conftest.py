"""A client for ``POST /flow/execute`` (the Flow Execution API)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client, TestCase

URL = "/flow/execute"


@dataclass
class Step:
    status: int
    body: dict[str, Any]
    response: Any

    @property
    def type(self) -> str:
        return self.body["type"]

    @property
    def data(self) -> dict[str, Any]:
        return self.body["data"]

    @property
    def error_code(self) -> str | None:
        return (self.body.get("error") or {}).get("code")

    def components(self) -> list[dict[str, Any]]:
        """Every component, forms flattened."""
        found = []
        for item in self.data.get("components", []):
            found.append(item)
            found.extend(item.get("components", []))
        return found

    def action_ids(self) -> list[str]:
        return [c["actionId"] for c in self.components() if c["type"] == "BUTTON"]


class ExecutionClient:
    def __init__(self, client: Client | None = None) -> None:
        self.client = client or Client()

    def post(self, body: Any, **headers: Any) -> Step:
        raw = body if isinstance(body, bytes | str) else json.dumps(body)
        # Emails leave after the step commits, as FlowClient lets them (on-commit callbacks).
        with TestCase.captureOnCommitCallbacks(execute=True):
            response = self.client.post(URL, raw, content_type="application/json", **headers)
        return Step(response.status_code, json.loads(response.content), response)

    def start(self, flow_type: str = "REGISTRATION", **headers: Any) -> Step:
        return self.post({"flowType": flow_type}, **headers)

    def act(
        self,
        step: Step,
        action_id: str | None,
        inputs: dict[str, Any] | None = None,
        **headers: Any,
    ) -> Step:
        body: dict[str, Any] = {"flowId": step.body["flowId"], "inputs": inputs or {}}
        if action_id is not None:
            body["actionId"] = action_id
        return self.post(body, **headers)


@pytest.fixture
def execution(db: None) -> ExecutionClient:
    return ExecutionClient()
