"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest

from hankoflow.testing.client import FlowClient


@pytest.fixture
def flow_api(db) -> FlowClient:
    """A Flow API client whose every response is checked against Hanko's OpenAPI document."""
    return FlowClient()


@pytest.fixture
def preflight_done(flow_api: FlowClient):
    """Start a flow and pass ``preflight`` the way hanko-elements does; returns the next state."""

    def run(flow: str = "login", **capabilities: bool):
        state = flow_api.start(flow)
        inputs = {"webauthn_available": True, **capabilities}
        return flow_api.act(state, "register_client_capabilities", inputs)

    return run
