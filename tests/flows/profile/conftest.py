"""Fixtures for the profile flow's tests: a signed-in person with a profile flow at
``profile_init``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from hankoflow import names as n
from hankoflow.models import Account
from hankoflow.testing.client import FlowClient, FlowResponse

CAPABILITIES = {
    n.STASH_WEBAUTHN_AVAILABLE: True,
    n.STASH_WEBAUTHN_CONDITIONAL_MEDIATION_AVAILABLE: False,
    n.STASH_WEBAUTHN_PLATFORM_AUTHENTICATOR_AVAILABLE: True,
}


class ProfileSession:
    """A signed-in browser: ``start()`` opens the profile at ``profile_init``; ``act`` runs
    an action of the state it is given."""

    def __init__(self, client: Client, account: Account) -> None:
        self.account = account
        self.client = client
        self.flows = FlowClient(client)

    def start(self, *, webauthn: bool = True, **headers: Any) -> FlowResponse:
        state = self.flows.start(n.FLOW_PROFILE, **headers)
        assert state.state == n.STATE_PREFLIGHT, state.body
        capabilities = {**CAPABILITIES, n.STASH_WEBAUTHN_AVAILABLE: webauthn}
        state = self.flows.act(state, n.ACTION_REGISTER_CLIENT_CAPABILITIES, capabilities)
        assert state.state == n.STATE_PROFILE_INIT, state.body
        return state

    def act(
        self, state: FlowResponse, action: str, input_data: dict[str, Any] | None = None, **kw: Any
    ) -> FlowResponse:
        return self.flows.act(state, action, input_data, **kw)


@pytest.fixture
def profile_session(
    signed_in_client: Callable[..., Client], account_factory: Callable[..., Account]
) -> Callable[..., ProfileSession]:
    """``profile_session(account=None)``: a signed-in ``ProfileSession`` (a new account with a
    verified email and a password when None)."""

    def make(account: Account | None = None) -> ProfileSession:
        account = account or account_factory(password="correct horse battery")
        return ProfileSession(signed_in_client(account), account)

    return make
