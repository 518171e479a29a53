"""Fixtures shared by the whole suite."""

from __future__ import annotations

import itertools

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import connection

from hankoflow.services import jwks, sessions
from hankoflow.testing.client import FlowClient

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


@pytest.fixture
def account(account_factory):
    return account_factory("Alice@Example.com")


@pytest.fixture
def other_account(account_factory):
    return account_factory("bob@example.com", username="bob")


@pytest.fixture
def issued(account) -> sessions.IssuedSession:
    return sessions.issue(account, amr=["otp"], env=None, remember_me=None)
