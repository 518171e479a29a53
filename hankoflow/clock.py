"""The one clock hankoflow reads when it asks "what time is it".

Services, hooks and actions call ``now()`` (an aware UTC datetime) or ``timestamp()`` (Unix
seconds); both come from one replaceable source, so a test moves every expiry, attempt budget,
rate-limit window and TOTP step together with ``use()`` (the suite's ``clock`` fixture does this).
Durations measured within one process use ``time.monotonic()`` instead, and model field defaults
keep ``django.utils.timezone.now`` (changing them would only churn migrations).

This module imports nothing from hankoflow or Django: every layer may use it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


def system_now() -> datetime:
    """The machine's clock, as an aware UTC datetime."""
    return datetime.now(UTC)


_source: Callable[[], datetime] = system_now


def now() -> datetime:
    """The current time, aware and in UTC."""
    return _source()


def timestamp() -> float:
    """The current time in Unix seconds (same source as ``now()``)."""
    return _source().timestamp()


def use(source: Callable[[], datetime] | None) -> None:
    """Read the time from ``source`` (returning aware datetimes); ``None`` restores the system
    clock."""
    global _source
    _source = source or system_now
