"""Fixtures for the TOTP and device-trust tests."""

from __future__ import annotations

import pytest

from hankoflow.services import totp


@pytest.fixture
def totp_clock(monkeypatch):
    """Pins the TOTP server clock: ``totp_clock.at = <Unix seconds>``."""

    class TotpClock:
        at = 1_700_000_010.0  # 10 s into step 56_666_667

        @property
        def step(self) -> int:
            return int(self.at // totp.PERIOD)

    pinned = TotpClock()
    monkeypatch.setattr(totp, "_clock", lambda: pinned.at)
    return pinned


@pytest.fixture
def alice(account_factory):
    return account_factory("alice@example.com")


@pytest.fixture
def bob(account_factory):
    return account_factory("bob@example.com")
