"""Fixtures of the Passkey API tests: the API mounted at ``/passkeys/``, a host user, a client
holding an API key, and helpers running each ceremony."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from hankoflow.services import api_keys
from hankoflow.testing.webauthn import SoftAuthenticator

BASE = "/passkeys"


@pytest.fixture(autouse=True)
def _passkey_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.passkey_api.urls"


@dataclass
class Api:
    client: Client
    key: str

    def post(self, path: str, body: Any = None, *, key: str | None | bool = True) -> Any:
        headers = {}
        if key is True:
            headers["apiKey"] = self.key
        elif isinstance(key, str):
            headers["apiKey"] = key
        return self.client.post(
            BASE + path,
            body if body is not None else {},
            content_type="application/json",
            headers=headers,
        )

    def register(self, user: Any, device: SoftAuthenticator, *, mfa: bool = False) -> str:
        """Registers a credential of ``device`` for ``user``; its token."""
        prefix = "/credentials/mfa/register" if mfa else "/credentials/register"
        options = self.post(f"{prefix}/initialize", {"user_id": str(user.pk), "username": "jo"})
        assert options.status_code == 200, options.json()
        created = device.create(options.json())
        done = self.post(f"{prefix}/finalize", created)
        assert done.status_code == 200, done.json()
        return done.json()["token"]

    def login_options(self, user: Any = None, *, mfa: bool = False) -> dict[str, Any]:
        prefix = "/credentials/mfa/login" if mfa else "/credentials/login"
        body = {"user_id": str(user.pk)} if user is not None else {}
        answer = self.post(f"{prefix}/initialize", body, key=False)
        assert answer.status_code == 200, answer.json()
        return answer.json()


@pytest.fixture
def api(db: None) -> Api:
    return Api(Client(), api_keys.create("passkey-api", scope=api_keys.FULL).plaintext)


@pytest.fixture
def host_user(db: None) -> Any:
    return get_user_model().objects.create_user(username="jo", password="pw-unused-123")


@pytest.fixture
def other_user(db: None) -> Any:
    return get_user_model().objects.create_user(username="kim", password="pw-unused-456")
