"""When a session last proved who its person is, and whether that is recent enough for a
sensitive profile change (``PROFILE.REAUTHENTICATION_MAX_AGE``; security-checks FL-11).

The time lives on the session row (``Session.authenticated_at``, set when the session is issued
and again after a re-authentication), so it holds for every later profile flow of the same
session and for no other session.
"""

from __future__ import annotations

from datetime import datetime

from hankoflow import clock
from hankoflow.conf import settings
from hankoflow.models.sessions import Session


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


def mark_reauthenticated(session: Session) -> datetime:
    """Record that the person just proved who they are in ``session``; returns the time."""
    now = clock.now()
    # A column update, not save(): the request's copy of the row may be stale.
    Session.objects.filter(pk=session.pk).update(authenticated_at=now, updated_at=now)
    session.authenticated_at = session.updated_at = now
    return now
