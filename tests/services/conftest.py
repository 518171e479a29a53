"""Fixtures for the service tests: two accounts for the TOTP and device-trust tests, and a flow
store that guesses nothing."""

from __future__ import annotations

import pytest


@pytest.fixture
def alice(account_factory):
    return account_factory("alice@example.com")


@pytest.fixture
def bob(account_factory):
    return account_factory("bob@example.com")


@pytest.fixture
def no_write_guesses():
    """The database flow store starts guessing nothing about which actions write (its per-process
    ``_writes``), and forgets what the test taught it."""
    from hankoflow.services import flow_store

    flow_store._writes.clear()
    yield
    flow_store._writes.clear()
