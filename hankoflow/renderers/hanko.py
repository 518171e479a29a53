"""Hanko's Flow API state object (flow-api.md §1.6), exactly as Hanko's clients expect it.

Key order follows Go's output (clients do not depend on it, but diffs against recorded Hanko
responses read better). Early errors have no ``payload`` key and an empty ``csrf_token``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hankoflow.engine import FlowResult, Input
from hankoflow.engine.inputs import MISSING
from hankoflow.errors import FlowError, InputError


def render(result: FlowResult, *, debug: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"name": result.state, "status": result.status}
    if not result.is_early_error:
        body["payload"] = result.payload
    body["csrf_token"] = result.csrf_token
    body["actions"] = {
        action.name: {
            "href": href(result.flow_name, action.name, result.flow_id or ""),
            "inputs": {item.name: render_input(item) for item in action.inputs},
            "action": action.name,
            "description": action.description,
        }
        for action in result.actions
    }
    if result.error is not None:
        body["error"] = render_error(result.error, include_cause=debug)
    body["links"] = None
    return body


def href(flow_name: str, action: str, flow_id: str) -> str:
    """``/<flow>?action=<action>%40<flow id>``: always the top-level flow's path."""
    # Quoted apart: each is usually all safe characters, which quote() returns without a loop.
    return f"/{flow_name}?action={quote(action, safe='')}%40{quote(flow_id, safe='')}"


def render_input(item: Input) -> dict[str, Any]:
    rendered: dict[str, Any] = {"name": item.name, "type": item.type}
    if item.preserve:
        rendered["value"] = None if item.value is MISSING else item.value
    for key in ("min_length", "max_length", "required", "hidden"):
        value = getattr(item, key)
        if value is not None:
            rendered[key] = value
    if item.error is not None:
        rendered["error"] = render_error(item.error, include_cause=True)
    if item.allowed_values:
        rendered["allowed_values"] = [
            {"value": allowed.value, "name": allowed.name} for allowed in item.allowed_values
        ]
    return rendered


def render_error(error: FlowError | InputError, *, include_cause: bool) -> dict[str, Any]:
    rendered = {"code": error.code, "message": error.message}
    if include_cause and error.cause:
        rendered["cause"] = error.cause
    return rendered
