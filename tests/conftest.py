"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest

from hankoflow.testing.client import FlowClient


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit buckets live in the cache; no test inherits another's counters."""
    from django.core.cache import caches

    from hankoflow.conf import settings

    caches[settings.RATE_LIMITER.CACHE].clear()
    yield


@pytest.fixture
def clock():
    """Drives ``hankoflow.clock``, the one clock the package reads: ``clock.advance(minutes=15)``
    moves it forward; ``clock.stop()`` holds it still between advances (for rules measured in
    seconds). ``clock.now()`` and ``clock.timestamp()`` read it."""
    from datetime import datetime, timedelta

    from hankoflow import clock as package_clock

    class Clock:
        def __init__(self) -> None:
            self.offset = timedelta()
            self.stopped_at: datetime | None = None

        def __call__(self) -> datetime:
            return (self.stopped_at or package_clock.system_now()) + self.offset

        def advance(self, **delta: float) -> None:
            self.offset += timedelta(**delta)

        def stop(self) -> None:
            self.stopped_at = package_clock.system_now()

        now = __call__

        def timestamp(self) -> float:
            return self().timestamp()

    fake = Clock()
    package_clock.use(fake)
    yield fake
    package_clock.use(None)


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


def last_passcode(mailoutbox, to: str) -> str | None:
    """The code in the newest email to ``to`` (None for notices that carry no code)."""
    import re

    for message in reversed(mailoutbox):
        if to in message.to:
            found = re.search(r"\b(\d{6})\b", message.body)
            return found.group(1) if found else None
    raise AssertionError(f"no email to {to}; sent: {[m.to for m in mailoutbox]}")


@pytest.fixture
def passcode_for(mailoutbox):
    return lambda to: last_passcode(mailoutbox, to)


@pytest.fixture
def account_factory(db):
    """Makes accounts through hankoflow's own services: ``account_factory("jane@example.com",
    password=..., username=..., verified=True, totp=<secret>, passkey=<SoftAuthenticator>)``.
    Without an email it makes up a unique one; ``email=None`` makes an account without one.
    A passkey is registered with the relying party the settings configure."""
    import uuid

    from hankoflow.models import Account
    from hankoflow.services import accounts, passwords, webauthn
    from hankoflow.services import totp as totp_service

    unique = object()

    def make(
        email: str | None | object = unique,
        *,
        password: str | None = None,
        username: str | None = None,
        verified: bool = True,
        totp: str | None = None,
        passkey=None,
    ) -> Account:
        account_id = uuid.uuid4()
        if email is unique:
            email = f"{account_id.hex[:12]}@example.com"
        account = accounts.create(
            account_id,
            email=email,
            email_verified=verified,
            username=username,
            password_hash=passwords.hash_password(password) if password else None,
        )
        if totp:
            totp_service.save_secret(account, totp, last_step=None)
        if passkey is not None:
            name = email or username or str(account_id)
            options = webauthn.registration_options(
                user_id=str(account.id),
                user_name=name,
                user_display_name=name,
                mfa_only=False,
                exclude_credential_ids=[],
                flow_id=None,
            )
            response = passkey.create(options.options)
            new = webauthn.verify_registration(options.challenge_id, response, flow_id=None)
            webauthn.save_credential(account, new)
        return account

    return make
