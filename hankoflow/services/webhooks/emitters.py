"""One function per kind of event, for the places where the changes happen (platform.md §5.2).

Each runs in the caller's transaction; the payload is built at once (a deleted user is described
before the deletion) but only when some hook wants the event.
"""

from __future__ import annotations

from typing import Any

from hankoflow import emails, signals
from hankoflow.engine import RequestFacts
from hankoflow.models import Account
from hankoflow.models.sessions import Session
from hankoflow.services.webhooks import events, payloads
from hankoflow.services.webhooks.outbox import emit

# Why a session ended -> its event; the other reasons (a password recovery ending the other
# sessions, an account deletion) have no event in Hanko.
SESSION_EVENTS = {
    signals.REASON_LOGOUT: events.SESSION_DELETE_LOGOUT,
    signals.REASON_USER_REVOKED: events.SESSION_DELETE_REVOKE,
    signals.REASON_REVOKED: events.SESSION_DELETE_ADMIN_REVOKE,
    signals.REASON_IDLE_TIMEOUT: events.SESSION_DELETE_EXPIRE,
    signals.REASON_LIMIT: events.SESSION_DELETE_LIMIT,
}


def user_changed(event: str, account: Account, *, env: RequestFacts | None = None) -> None:
    """A ``user.*`` event with the admin User of ``account`` (and, from a flow, the request's
    user agent and IP address)."""
    emit(event, lambda: payloads.user(account, env=env))


def user_deleted(account: Account) -> None:
    """``user.delete``, with the user as it was: call it before deleting."""
    emit(events.USER_DELETE, lambda: payloads.user(account))


def session_created(session: Session | str, *, event: str = events.SESSION_CREATE_FLOW) -> None:
    """``session.create.flow`` (or ``event``) for a session row or its id."""

    def build() -> dict[str, Any]:
        row = session if isinstance(session, Session) else Session.objects.get(pk=session)
        return payloads.session(row)

    emit(event, build)


def session_ended(session: Session, reason: str) -> None:
    """The ``session.delete.*`` event of ``reason`` (``signals.REASON_*``), if it has one."""
    event = SESSION_EVENTS.get(reason)
    if event is not None:
        emit(event, lambda: payloads.session(session))


def email_sent(
    kind: str, *, to: str, language: str, context: dict[str, Any], code: str | None
) -> None:
    """``email.send`` for an email just queued (every passcode email, notice and security
    notification; not the admin's test email)."""
    if kind == emails.TEST:
        return
    emit(
        events.EMAIL_SEND,
        lambda: payloads.email_send(kind, to=to, language=language, context=context, code=code),
    )
