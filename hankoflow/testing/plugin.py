"""hankoflow's pytest plugin: fixtures for projects that embed hankoflow, and for hankoflow's own
suite (style.md §2.6).

Installing hankoflow registers it (the ``pytest11`` entry point ``hankoflow``); it needs
pytest-django, whose ``db``, ``settings`` and ``mailoutbox`` fixtures it builds on. Nothing is
imported from Django or hankoflow until a fixture runs, so the plugin costs nothing in a run that
does not use it.

- ``flow_client``: a ``FlowClient`` for the Flow API; every answer is checked against Hanko's
  OpenAPI document when the ``testing`` extra and the documents are there (the report header
  says whether they are).
- ``passcode_outbox``: ``passcode_outbox("jane@example.com")`` is the code of the newest email to
  that address.
- ``soft_authenticator``: a software passkey device answering from the first configured origin.
- ``totp_now``: ``totp_now(secret_or_account)`` is the TOTP code of the moment on hankoflow's
  clock.
- ``signed_in_client``: ``signed_in_client(account)`` is a Django test ``Client`` carrying a valid
  session of ``account``.
- ``account_factory``: makes accounts through hankoflow's services.
- ``clock``: moves hankoflow's clock (``clock.advance(minutes=15)``).

Names are chosen not to clash with pytest-django's (``client``, ``settings``, ``mailoutbox``...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from django.test import Client

    from hankoflow.models import Account
    from hankoflow.testing.client import FlowClient
    from hankoflow.testing.webauthn import SoftAuthenticator

_CODE = re.compile(r"\b(\d{6})\b")


def pytest_report_header(config: pytest.Config) -> str:
    from hankoflow.testing.openapi_documents import FLOW_DOCUMENT, document_path
    from hankoflow.testing.openapi_documents import validation_unavailable as unavailable

    reason = unavailable()
    if reason:
        return f"hankoflow: OpenAPI validation skipped ({reason})"
    return f"hankoflow: Flow API answers checked against {document_path(FLOW_DOCUMENT).parent}"


# --- the Flow API --------------------------------------------------------------------------------


@pytest.fixture
def flow_client(db: None) -> FlowClient:
    """A Flow API client (``start``, ``act``) checking answers against Hanko's OpenAPI document
    when it can; ``flow_client.skipped_validation`` says why it does not."""
    from hankoflow.testing.client import FlowClient

    return FlowClient()


def last_passcode(outbox: list[Any], to: str) -> str | None:
    """The code in the newest email to ``to`` (None for notices that carry no code)."""
    for message in reversed(outbox):
        if to in message.to:
            found = _CODE.search(message.body)
            return found.group(1) if found else None
    raise AssertionError(f"no email to {to}; sent: {[m.to for m in outbox]}")


@pytest.fixture
def passcode_outbox(mailoutbox: list[Any]) -> Callable[[str], str | None]:
    """``passcode_outbox(address)``: the code of the newest email to ``address`` (None when that
    email carries no code); fails when nothing was sent there. Reads Django's ``mail.outbox``."""
    return lambda to: last_passcode(mailoutbox, to)


# --- credentials ---------------------------------------------------------------------------------


@pytest.fixture
def soft_authenticator() -> SoftAuthenticator:
    """A software authenticator answering from the first origin of
    ``WEBAUTHN.RELYING_PARTY.ORIGINS`` for the configured relying party ID."""
    from hankoflow.conf import settings as hankoflow_settings
    from hankoflow.testing.webauthn import SoftAuthenticator

    party = hankoflow_settings.WEBAUTHN.RELYING_PARTY
    return SoftAuthenticator(party.ORIGINS[0], party.ID)


@pytest.fixture
def totp_now(db: None) -> Callable[..., str]:
    """``totp_now(secret_or_account, steps=0)``: the TOTP code of now on hankoflow's clock (moved
    by ``clock``); ``steps=1`` is the next period's code."""
    import pyotp

    from hankoflow import clock
    from hankoflow.models import Account, OTPSecret
    from hankoflow.services import crypto, totp

    def code(secret_or_account: str | Account, steps: int = 0) -> str:
        secret = secret_or_account
        if isinstance(secret, Account):
            row = OTPSecret.objects.get(account=secret)
            # The purpose the TOTP service encrypts its secrets with.
            secret = crypto.decrypt(row.secret_encrypted, totp._CRYPTO_PURPOSE).decode("ascii")
        step = int(clock.timestamp() // totp.PERIOD) + steps
        return pyotp.TOTP(secret, digits=totp.DIGITS, interval=totp.PERIOD).generate_otp(step)

    return code


# --- sessions and accounts -----------------------------------------------------------------------


@pytest.fixture
def signed_in_client(account_factory: Callable[..., Account]) -> Callable[..., Client]:
    """``signed_in_client(account=None, amr=("pwd",))``: a Django test ``Client`` whose session
    cookie holds a valid session of ``account`` (a new one when None); the token is also in
    ``client.session_token`` for an ``Authorization: Bearer`` header."""
    from django.test import Client

    from hankoflow.conf import settings as hankoflow_settings
    from hankoflow.services import sessions

    def make(account: Account | None = None, *, amr: tuple[str, ...] = ("pwd",)) -> Client:
        account = account or account_factory()
        issued = sessions.issue(account, amr=list(amr), env=None, remember_me=None)
        client = Client()
        client.cookies[hankoflow_settings.SESSION.COOKIE.NAME] = issued.token
        client.session_token = issued.token  # type: ignore[attr-defined]
        client.account = account  # type: ignore[attr-defined]
        return client

    return make


@pytest.fixture
def account_factory(db: None) -> Callable[..., Account]:
    """Makes accounts through hankoflow's own services: ``account_factory("jane@example.com",
    password=..., username=..., verified=True, totp=<secret>, passkey=<SoftAuthenticator>)``.
    Without an email it makes up a unique one; ``email=None`` makes an account without one.
    A passkey is registered with the relying party the settings configure."""
    import uuid

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
        passkey: SoftAuthenticator | None = None,
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


# --- time ----------------------------------------------------------------------------------------


class Clock:
    """A clock that runs with the system's, ``offset`` ahead; ``stop()`` holds it still."""

    def __init__(self) -> None:
        self.offset = timedelta()
        self.stopped_at: datetime | None = None

    def __call__(self) -> datetime:
        from hankoflow import clock as package_clock

        return (self.stopped_at or package_clock.system_now()) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)

    def stop(self) -> None:
        from hankoflow import clock as package_clock

        self.stopped_at = package_clock.system_now()

    now = __call__

    def timestamp(self) -> float:
        return self().timestamp()


@pytest.fixture
def clock() -> Iterator[Clock]:
    """Drives ``hankoflow.clock``, the one clock the package reads: ``clock.advance(minutes=15)``
    moves it forward; ``clock.stop()`` holds it still between advances (for rules measured in
    seconds). ``clock.now()`` and ``clock.timestamp()`` read it."""
    from hankoflow import clock as package_clock

    fake = Clock()
    package_clock.use(fake)
    yield fake
    package_clock.use(None)
