"""Fixtures for the WebAuthn tests: a relying party, accounts and a software authenticator."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from hankoflow.models import Account, WebauthnCredential
from hankoflow.services import webauthn as wa
from hankoflow.testing.webauthn import SoftAuthenticator

RP_ID = "login.example.com"
ORIGIN = "https://login.example.com"


@pytest.fixture(autouse=True)
def relying_party(settings):
    """Every test here runs against RP ``login.example.com`` served from ``ORIGIN``."""
    hankoflow = dict(getattr(settings, "HANKOFLOW", {}) or {})
    hankoflow["WEBAUTHN"] = {
        "RELYING_PARTY": {"ID": RP_ID, "DISPLAY_NAME": "Example", "ORIGINS": [ORIGIN]},
        "TIMEOUTS": {"REGISTRATION": 300_000, "LOGIN": 120_000},
    }
    settings.HANKOFLOW = hankoflow
    return hankoflow


@pytest.fixture
def device() -> SoftAuthenticator:
    return SoftAuthenticator(ORIGIN)


@pytest.fixture
def flow_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def register(flow_id) -> Callable[..., WebauthnCredential]:
    """Register a credential of ``device`` for ``account`` through the service, end to end."""

    def run(
        account: Account, device: SoftAuthenticator, *, mfa_only: bool = False, **create: Any
    ) -> WebauthnCredential:
        options = creation_options(account, mfa_only=mfa_only, flow_id=flow_id)
        response = device.create(options.options, **create)
        new = wa.verify_registration(options.challenge_id, response, flow_id=flow_id)
        return wa.save_credential(account, new)

    return run


def creation_options(
    account: Account, *, mfa_only: bool = False, flow_id: str | None = None, exclude=()
) -> wa.Options:
    return wa.registration_options(
        user_id=str(account.id),
        user_name="ada@example.com",
        user_display_name="ada@example.com",
        mfa_only=mfa_only,
        exclude_credential_ids=list(exclude),
        flow_id=flow_id,
    )


def request_options(
    *,
    user_id: str | None = None,
    allow: list[str] | None = None,
    user_verification: str = "preferred",
    mfa: bool = False,
    flow_id: str | None = None,
) -> wa.Options:
    return wa.authentication_options(
        user_id=user_id,
        allow_credential_ids=allow,
        user_verification=user_verification,
        mfa=mfa,
        flow_id=flow_id,
    )
