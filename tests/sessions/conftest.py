"""Fixtures for session, JWK and ``request.user`` tests."""

from __future__ import annotations

import itertools

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from hankoflow.services import jwks, sessions

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
    monkeypatch.setattr(jwks, "generate_private_key", _pooled_key)
    jwks.clear_cache()
    yield
    jwks.clear_cache()


@pytest.fixture
def account(account_factory):
    return account_factory("Alice@Example.com")


@pytest.fixture
def other_account(account_factory):
    return account_factory("bob@example.com", username="bob")


@pytest.fixture
def issued(account) -> sessions.IssuedSession:
    return sessions.issue(account, amr=["otp"], env=None, remember_me=None)
