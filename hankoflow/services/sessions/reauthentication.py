"""When a session last proved who its person is, and whether that is recent enough for a
sensitive profile change (``PROFILE.REAUTHENTICATION_MAX_AGE``; security-checks FL-11).

The time lives on the session row (``Session.authenticated_at``, set when the session is issued
and again after a re-authentication), so it holds for every later profile flow of the same
session and for no other session.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hankoflow import clock
from hankoflow.conf import settings
from hankoflow.engine import RequestFacts
from hankoflow.models.sessions import Session
from hankoflow.services import audit

# ``details.context`` of the audit entries a re-authentication writes (success and failure).
REAUTHENTICATION_CONTEXT = "reauthentication"


def authenticated_at(session: Session) -> datetime:
    """When the person last authenticated in ``session`` (rows older than the field: their
    creation, which was a sign-in)."""
    return session.authenticated_at or session.created_at


def reauthentication_due(session: Session) -> bool:
    """Whether a sensitive change in ``session`` must first ask the person to authenticate
    again: the last authentication is older than ``PROFILE.REAUTHENTICATION_MAX_AGE`` seconds
    (0: never)."""
    max_age = int(settings.PROFILE.REAUTHENTICATION_MAX_AGE)
    if max_age <= 0:
        return False
    return (clock.now() - authenticated_at(session)).total_seconds() > max_age


def mark_reauthenticated(
    session: Session, *, env: RequestFacts | None = None, details: dict[str, Any] | None = None
) -> datetime:
    """Record that the person just proved who they are in ``session``; returns the time.

    Audited as ``login_success`` with ``details.context`` ``reauthentication`` (Hanko has no
    type for it, and the admin API's type list is Hanko's); the sign-in funnel leaves these out.
    """
    now = clock.now()
    # A column update, not save(): the request's copy of the row may be stale.
    Session.objects.filter(pk=session.pk).update(authenticated_at=now, updated_at=now)
    session.authenticated_at = session.updated_at = now
    audit.record(
        audit.LOGIN_SUCCESS,
        env=env,
        account=session.account,
        details={
            "context": REAUTHENTICATION_CONTEXT,
            "session_id": str(session.pk),
            **(details or {}),
        },
    )
    return now
