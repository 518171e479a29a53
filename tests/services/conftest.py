"""Fixtures for the service tests: two accounts for the TOTP and device-trust tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def alice(account_factory):
    return account_factory("alice@example.com")


@pytest.fixture
def bob(account_factory):
    return account_factory("bob@example.com")
