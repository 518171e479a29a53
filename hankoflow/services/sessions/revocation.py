"""Ending sessions early: logout, ``revoke``/``revoke_all`` (a password recovery ends all of a
user's sessions, SE-07), ``SESSION.LIMIT`` and the idle timeout.

Deleting the row revokes the token at once (security-checks SE-05). Every way a session ends
sends ``hankoflow.signals.session_revoked`` with the reason, once, from whoever deleted the row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import user_logged_out
from django.db import transaction
from django.http import HttpRequest

from hankoflow import clock, signals
from hankoflow.engine import RequestFacts
from hankoflow.models import Account
from hankoflow.models.sessions import Session
from hankoflow.services import accounts, audit, device_trust, webhooks
from hankoflow.services.sessions.tokens import canonical_uuid


@dataclass(frozen=True)
class SessionEnded:
    """A step effect: the request's own session ended (its account was deleted), so the
    transport expires the session cookie (``hankoflow.http.sessions.deliver``)."""


def revoke(
    session_id: str | uuid.UUID,
    *,
    reason: str = signals.REASON_REVOKED,
    request: HttpRequest | None = None,
) -> bool:
    """End one session: delete its row (its token stops validating at once) and send
    ``session_revoked``; False when there was no such session."""
    key = session_id if isinstance(session_id, uuid.UUID) else canonical_uuid(session_id)
    if key is None:
        return False
    session = Session.objects.select_related("account").filter(pk=key).first()
    return session is not None and end_one(session, reason, request)


def revoke_of(
    account: Account,
    session_id: uuid.UUID,
    *,
    reason: str = signals.REASON_REVOKED,
    request: HttpRequest | None = None,
) -> Session | None:
    """End the account's session ``session_id`` (the admin API's revocation): the ended row,
    or None when the account has no such session (another user's included)."""
    row = Session.objects.select_related("account").filter(pk=session_id, account=account).first()
    if row is None or not end_one(row, reason, request):
        return None
    return row


def revoke_all(
    account: Account,
    *,
    reason: str = signals.REASON_REVOKED,
    env: RequestFacts | None = None,
    audit_details: dict[str, Any] | None = None,
) -> int:
    """End every session of the account and forget the devices it trusts for MFA
    (flow-api.md §4.5.3; security-checks SE-07); the number of sessions ended.

    One transaction (the caller's, when there is one). The account row is locked as ``issue``
    locks it, so a login committing at the same moment is either ended too or begins after
    this. ``session_revoked`` is sent per session; when anything ended, one ``user_logged_out``
    audit entry records it, with ``reason``, the ``session_ids`` and the number of
    ``trusted_devices`` in its details, plus ``audit_details`` (e.g. the flow id).
    Hanko: has no audit type for a revocation; ``user_logged_out`` is the closest.
    """
    request = env.request if env is not None else None
    with transaction.atomic():
        lock_account(account)
        rows = list(Session.objects.select_for_update().filter(account=account))
        end(rows, account, reason, request)
        devices = device_trust.revoke_all(account)
        if rows or devices:
            details = {
                "reason": reason,
                "session_ids": sorted(str(row.pk) for row in rows),
                "trusted_devices": devices,
                **(audit_details or {}),
            }
            audit.record(audit.USER_LOGGED_OUT, env=env, account=account, details=details)
    return len(rows)


def logout(session: Session, *, env: RequestFacts) -> None:
    """End a session its holder signed out of (platform.md §2.8): delete the row, write the
    audit entry ``user_logged_out`` in the same transaction, send ``session_revoked`` and
    Django's ``user_logged_out``. The transport expires the cookie
    (``hankoflow.http.sessions.logout``)."""
    account = session.account
    with transaction.atomic():
        end_one(session, signals.REASON_LOGOUT, env.request)
        audit.record(audit.USER_LOGGED_OUT, env=env, account=account)
    user = account.user
    user_logged_out.send(sender=user.__class__, request=env.request, user=user)


def active_sessions(account: Account) -> list[Session]:
    """The account's unexpired sessions, newest first (platform.md §1.10 "Active")."""
    return list(
        Session.objects.filter(account=account, expires_at__gt=clock.now()).order_by("-created_at")
    )


def lock_account(account: Account) -> None:
    """Serialises issuing and bulk revocation for one user (SESSION.LIMIT, SE-07)."""
    accounts.lock_row(account.pk)


def end(rows: list[Session], account: Account, reason: str, request: HttpRequest | None) -> None:
    """Delete rows the caller has locked, then announce each one."""
    if not rows:
        return
    Session.objects.filter(pk__in=[row.pk for row in rows]).delete()
    for row in rows:
        _announce(row, account, reason, request)


def end_one(session: Session, reason: str, request: HttpRequest | None) -> bool:
    """Delete one row; announced only by whoever actually deleted it (racing requests)."""
    deleted, _ = Session.objects.filter(pk=session.pk).delete()
    if deleted:
        _announce(session, session.account, reason, request)
    return bool(deleted)


def _announce(session: Session, account: Account, reason: str, request: HttpRequest | None) -> None:
    webhooks.session_ended(session, reason)  # session.delete.* (platform.md §5.2)
    signals.session_revoked.send(
        sender=Session, session=session, account=account, reason=reason, request=request
    )
