"""Fixtures shared by the whole suite, beside those of hankoflow's pytest plugin
(hankoflow/testing/plugin.py: ``flow_client``, ``passcode_outbox``, ``account_factory``,
``clock``...), which our own tests use as a host project would."""

from __future__ import annotations

import itertools

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import connection

from hankoflow.services import jwks, sessions
from hankoflow.testing.client import FlowClient


def pytest_configure(config: pytest.Config) -> None:
    # Installing hankoflow registers the plugin (entry point "hankoflow"); an editable install
    # made before the entry point existed has not, so register it here once.
    if not config.pluginmanager.has_plugin("hankoflow"):
        from hankoflow.testing import plugin

        config.pluginmanager.register(plugin, "hankoflow")


# RSA key generation costs ~50 ms; tests draw from a few pre-made keys instead (each stored row
# still gets its own kid). Three distinct keys cover a rotation inside one test.
_POOL: list[rsa.RSAPrivateKey] = []


def _pooled_key() -> rsa.RSAPrivateKey:
    if not _POOL:
        _POOL.extend(
            rsa.generate_private_key(public_exponent=65537, key_size=jwks.KEY_SIZE)
            for _ in range(3)
        )
        _pooled_key.cycle = itertools.cycle(_POOL)  # type: ignore[attr-defined]
    return next(_pooled_key.cycle)  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def fast_keys(monkeypatch):
    monkeypatch.setattr(jwks.keypairs, "generate_private_key", _pooled_key)
    jwks.clear_cache()
    yield
    jwks.clear_cache()


@pytest.fixture
def postgres_only():
    """Skips unless the database is PostgreSQL (races, row locks, NUL in text):
    ``pytestmark = pytest.mark.usefixtures("postgres_only")``."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (bin/test starts it)")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit buckets live in the cache; no test inherits another's counters."""
    from django.core.cache import caches

    from hankoflow.conf import settings

    caches[settings.RATE_LIMITER.CACHE].clear()
    yield


@pytest.fixture
def preflight_done(flow_client: FlowClient):
    """Start a flow and pass ``preflight`` the way hanko-elements does; returns the next state."""

    def run(flow: str = "login", **capabilities: bool):
        state = flow_client.start(flow)
        inputs = {"webauthn_available": True, **capabilities}
        return flow_client.act(state, "register_client_capabilities", inputs)

    return run


@pytest.fixture
def account(account_factory):
    return account_factory("Alice@Example.com")


@pytest.fixture
def other_account(account_factory):
    return account_factory("bob@example.com", username="bob")


@pytest.fixture
def issued(account) -> sessions.IssuedSession:
    return sessions.issue(account, amr=["otp"], env=None, remember_me=None)
