"""Hooks of the ``profile`` flow: who the flow is for, and what ``profile_init`` shows
(flow-api.md §4.3, §4.6.1, §4.6.2).

The transport validates the session on every request and hands it over as ``ctx.env.session``
(``hankoflow.http.runner``). The flow is bound to the account that started it: a later step
carrying another account's session is refused (security-checks FL-10).
"""

from __future__ import annotations

from typing import Any

from hankoflow import names as n
from hankoflow.conf import settings
from hankoflow.engine import FlowContext, Hook
from hankoflow.models import Session
from hankoflow.services import accounts, profile, sessions


class SessionUserMissing(Exception):
    """The step carries no session, or one of another account than the flow's."""


def session_of(ctx: FlowContext) -> sessions.SessionInfo:
    """The validated session of this request; a profile step never runs without one."""
    info = getattr(ctx.env, "session", None) if ctx.env is not None else None
    if info is None:
        raise SessionUserMissing("the profile flow needs the request's session")
    return info


class BindSessionUser(Hook):
    """At the start: the flow belongs to the session's account (stash ``user_id`` too, which the
    shared steps read to find the flow's account)."""

    def run(self, ctx: FlowContext) -> None:
        if ctx.stash.get(n.STASH_SESSION_USER_ID):
            return
        account = session_of(ctx).account
        ctx.stash.set(n.STASH_SESSION_USER_ID, str(account.id))
        ctx.stash.set(n.STASH_USER_ID, str(account.id))
        ctx.memo["account"] = account


class RefreshSessionUser(Hook):
    """Before every action (and every Continue/Revert): the session user, fresh from the
    database, must be the flow's account; otherwise the engine refuses the step with 403."""

    def run(self, ctx: FlowContext) -> None:
        info = session_of(ctx)
        bound = ctx.stash.get(n.STASH_SESSION_USER_ID)
        if bound != str(info.account.id):
            raise SessionUserMissing("the session belongs to another account than the flow")
        # None once the account is gone (account_delete continues to account_deleted);
        # actions that need it answer operation_not_permitted_error (flow-api.md §4.3).
        ctx.memo["account"] = accounts.get(info.account.id)
        ctx.stash.set(n.STASH_USER_ID, bound)


class GetSessions(Hook):
    """``sessions``: the account's active sessions, newest first, the current one marked
    (§4.6.2); only with ``SESSION.SHOW_ON_PROFILE``."""

    def run(self, ctx: FlowContext) -> None:
        if not settings.SESSION.SHOW_ON_PROFILE:
            return
        info = session_of(ctx)
        account = ctx.memo.get("account") or info.account
        ctx.payload["sessions"] = [
            session_data(row, current=row.pk == info.session.pk)
            for row in sessions.active_sessions(account)
        ]


class GetProfileData(Hook):
    """``user``: the profile data of the session user (§4.6.1)."""

    def run(self, ctx: FlowContext) -> None:
        account = ctx.memo.get("account")
        if account is None or str(account.id) != ctx.stash.get(n.STASH_SESSION_USER_ID):
            account = accounts.get(session_of(ctx).account.id)
        if account is None:
            raise SessionUserMissing("the session's account no longer exists")
        ctx.payload["user"] = profile.profile_data(account)


def session_data(row: Session, *, current: bool) -> dict[str, Any]:
    """One item of ``sessions`` (§4.6.2): absent values are omitted, as Hanko omits them."""
    data: dict[str, Any] = {"id": str(row.id)}
    if row.user_agent:
        data["user_agent_raw"] = row.user_agent
        data["user_agent"] = sessions.describe_user_agent(row.user_agent)
    if row.ip_address:
        data["ip_address"] = row.ip_address
    data["current"] = current
    data["created_at"] = accounts.rfc3339(row.created_at)
    data["expires_at"] = accounts.rfc3339(row.expires_at)
    data["last_used"] = accounts.rfc3339(row.last_used)
    return data
