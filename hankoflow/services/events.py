"""Sending ``hankoflow.signals`` from flow steps: one function per signal, so every caller sends
the same arguments and identifiers are masked in one place.

Each runs in the caller's transaction (the conventions are in ``hankoflow.signals``).
"""

from __future__ import annotations

import logging
from typing import Any

from hankoflow import signals
from hankoflow.engine import RequestFacts
from hankoflow.models import Account
from hankoflow.services import audit

logger = logging.getLogger("hankoflow.signals")


def _request(env: RequestFacts | None) -> Any:
    return env.request if env is not None else None


def user_registered(account: Account, *, env: RequestFacts | None) -> None:
    signals.user_registered.send(
        sender=Account, account=account, user=account.user, request=_request(env)
    )


def login_succeeded(
    account: Account, *, amr: list[str], session_id: str, env: RequestFacts | None
) -> None:
    signals.login_succeeded.send(
        sender=Account,
        account=account,
        user=account.user,
        amr=list(amr),
        session_id=session_id,
        request=_request(env),
    )


def login_failed(
    *,
    account: Account | None,
    identifier: str | None,
    method: str,
    reason: str,
    env: RequestFacts | None,
) -> None:
    """``identifier`` as the person typed it (already normalised); sent masked.

    Sent robustly: a receiver that raises is logged, never allowed to fail the step, because a
    failed step rolls back the attempt counters this failure has just written.
    """
    results = signals.login_failed.send_robust(
        sender=Account,
        account=account,
        identifier=mask_identifier(identifier),
        method=method,
        reason=reason,
        request=_request(env),
    )
    for receiver, outcome in results:
        if isinstance(outcome, Exception):
            logger.error("login_failed receiver %r raised", receiver, exc_info=outcome)


def credential_added(
    account: Account, kind: str, credential_id: str | None, *, env: RequestFacts | None
) -> None:
    signals.credential_added.send(
        sender=Account,
        account=account,
        kind=kind,
        credential_id=credential_id,
        request=_request(env),
    )


def credential_removed(
    account: Account, kind: str, credential_id: str | None, *, request: Any = None
) -> None:
    signals.credential_removed.send(
        sender=Account, account=account, kind=kind, credential_id=credential_id, request=request
    )


def mask_identifier(identifier: str | None) -> str | None:
    """An email address or username masked as the audit log masks them."""
    if not identifier:
        return None
    if "@" in identifier:
        return audit.mask_email(identifier)
    return audit.mask_username(identifier)
