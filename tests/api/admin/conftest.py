"""Fixtures for the admin API: clients holding an API key of each scope, whose every answer is
checked against ``openapi-admin.yaml`` (``hankoflow.testing.openapi_admin``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from hankoflow.services import api_keys
from hankoflow.testing.openapi_admin import check

PREFIX = "/admin-api"


class AdminApiClient(Client):
    """A test client whose every answer is validated against the admin document (with
    hankoflow's corrections); ``validate=False`` for answers the document cannot describe."""

    def __init__(self, *args: Any, validate: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.validate = validate

    def request(self, **request: Any) -> Any:
        response = super().request(**request)
        if self.validate and request["PATH_INFO"].startswith(PREFIX + "/"):
            check(response, request["REQUEST_METHOD"], request["PATH_INFO"], strip=PREFIX)
        return response


@pytest.fixture
def admin_api(db) -> Callable[..., AdminApiClient]:
    """``admin_api(scope="full", validate=True)``: a test client sending ``Authorization: Bearer
    <key>``; ``client.api_key`` is the ``ApiKey`` row, ``client.plaintext`` the key."""

    def make(scope: str = api_keys.FULL, *, validate: bool = True) -> AdminApiClient:
        new = api_keys.create(f"test-{scope}", scope=scope)
        client = AdminApiClient(
            headers={"Authorization": f"Bearer {new.plaintext}"}, validate=validate
        )
        client.api_key = new.key  # type: ignore[attr-defined]
        client.plaintext = new.plaintext  # type: ignore[attr-defined]
        return client

    return make
