"""Validating a session token: the JWT must be ours (``tokens.decode``) and its row must exist,
belong to ``sub``, be unexpired and not idle-expired, for an active user (SE-05, SE-07).
Anything else is ``None``, never an exception."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

from hankoflow import clock, signals
from hankoflow.conf import settings
from hankoflow.models import Account
from hankoflow.models.sessions import Session
from hankoflow.services.sessions import tokens
from hankoflow.services.sessions.revocation import end_one

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

# Hanko: writes ``last_used`` on every authenticated request; we write it when the stored value
# is older than this, so a page's burst of API calls costs one UPDATE. Idle timeouts are
# minutes or more, so the window is unaffected.
LAST_USED_RESOLUTION = timedelta(seconds=5)
SOURCE_HEADER = "header"
SOURCE_COOKIE = "cookie"


@dataclass(frozen=True)
class SessionInfo:
    """A validated session: its account and row, and the token's claims as signed (``sub``,
    ``exp``, ``amr``...). ``token_source`` is ``"header"`` or ``"cookie"`` when it came from a
    request, else empty."""

    account: Account
    session: Session
    claims: dict[str, Any]
    token_source: str = ""

    @property
    def user(self) -> AbstractBaseUser:
        return self.account.user

    @property
    def from_cookie(self) -> bool:
        """The token came from the session cookie (ambient authority: mind CSRF)."""
        return self.token_source == SOURCE_COOKIE


def validate(
    token: Any, *, touch: bool = True, request: HttpRequest | None = None
) -> SessionInfo | None:
    """The session a token stands for, or None if it is not a valid session right now.

    Besides ``decode``: ``sub`` and ``session_id`` must be UUIDs, the row must exist, belong to
    ``sub`` and be unexpired, the user must be active (security-checks SE-07), and the idle
    timeout (``SESSION.IDLE_TIMEOUT`` > 0) must not have passed since ``last_used`` — if it has,
    the row is deleted. ``touch`` records the use (``last_used``); ``GET /sessions/validate``
    is passive and passes False. ``request`` is handed to ``session_revoked`` when the idle
    timeout ends the session.
    """
    claims = tokens.decode(token)
    if claims is None:
        return None
    return check(claims, touch=touch, request=request)


def check(
    claims: dict[str, Any], *, touch: bool = True, request: HttpRequest | None = None
) -> SessionInfo | None:
    """``validate`` for the claims of a token ``tokens.decode`` accepted: the database part."""
    session_id = tokens.canonical_uuid(claims.get("session_id"))
    subject = tokens.canonical_uuid(claims.get("sub"))
    if session_id is None or subject is None:
        return None
    session = Session.objects.select_related("account__user").filter(pk=session_id).first()
    if session is None or session.account_id != subject:
        return None
    now = clock.now()
    if session.expires_at <= now or not getattr(session.account.user, "is_active", True):
        return None
    idle = int(settings.SESSION.IDLE_TIMEOUT)
    if idle > 0 and now - session.last_used > timedelta(seconds=idle):
        end_one(session, signals.REASON_IDLE_TIMEOUT, request)
        return None
    if touch and now - session.last_used >= LAST_USED_RESOLUTION:
        Session.objects.filter(pk=session.pk).update(last_used=now, updated_at=now)
        session.last_used = session.updated_at = now
    return SessionInfo(account=session.account, session=session, claims=claims)


def idle_expires_at(session: Session) -> datetime | None:
    """``last_used + IDLE_TIMEOUT`` capped at the expiry, or None without an idle timeout."""
    idle = int(settings.SESSION.IDLE_TIMEOUT)
    if idle <= 0:
        return None
    return min(session.last_used + timedelta(seconds=idle), session.expires_at)
