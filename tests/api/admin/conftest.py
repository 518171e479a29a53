"""Fixtures for the admin API: clients holding an API key of each scope."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from hankoflow.services import api_keys

PREFIX = "/admin-api"


@pytest.fixture
def admin_api(db) -> Callable[..., Client]:
    """``admin_api(scope="full")``: a test client sending ``Authorization: Bearer <key>``;
    ``client.api_key`` is the ``ApiKey`` row."""

    def make(scope: str = api_keys.FULL) -> Client:
        new = api_keys.create(f"test-{scope}", scope=scope)
        client = Client(headers={"Authorization": f"Bearer {new.plaintext}"})
        client.api_key = new.key  # type: ignore[attr-defined]
        return client

    return make
