"""Profile actions on the account and its sessions (flow-api.md §4.3.2 #1, #19)."""

from __future__ import annotations

from hankoflow import errors, signals
from hankoflow import names as n
from hankoflow.actions.profile.reauthentication import reauthentication_required
from hankoflow.conf import settings
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome
from hankoflow.engine import inputs as i
from hankoflow.services import account_deletion, audit, sessions
from hankoflow.steps import account_of, session_account


class AccountDelete(Action):
    """Delete the session user's account, end its sessions and forget the cookie."""

    name = n.ACTION_ACCOUNT_DELETE
    description = "Delete an account."

    def initialize(self, setup: ActionSetup) -> None:
        if not settings.ACCOUNT.ALLOW_DELETION:
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        account = account_of(ctx)
        if account is None:
            return ctx.error(errors.OPERATION_NOT_PERMITTED)
        if (outcome := reauthentication_required(ctx)) is not None:
            return outcome
        account_deletion.delete_account(
            account, env=ctx.env, audit_details={"flow_id": ctx.flow_id, "self_service": True}
        )
        ctx.memo["account"] = None
        ctx.effects.add(sessions.SessionEnded())
        ctx.prevent_revert()
        return ctx.continue_to(n.STATE_ACCOUNT_DELETED)


class SessionDelete(Action):
    """End another of the user's sessions; the current one is never offered (use logout)."""

    name = n.ACTION_SESSION_DELETE
    description = "Delete a session."

    def initialize(self, setup: ActionSetup) -> None:
        others = _other_sessions(setup)
        if not settings.SESSION.ALLOW_REVOCATION or not others:
            setup.suspend()
            return
        setup.add_input(
            i.string(
                "session_id",
                required=True,
                hidden=True,
                allowed_values=tuple(i.AllowedValue(value=s, name=s) for s in others),
            )
        )

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        account = account_of(ctx)
        if account is None:
            return ctx.error(errors.OPERATION_NOT_PERMITTED)
        if (outcome := reauthentication_required(ctx)) is not None:
            return outcome
        session_id = ctx.input("session_id")
        request = ctx.env.request if ctx.env is not None else None
        # Hanko: deletes it "if it exists"; one ended meanwhile (by its holder) is no error.
        if sessions.revoke(session_id, reason=signals.REASON_USER_REVOKED, request=request):
            audit.record(
                audit.USER_LOGGED_OUT,
                env=ctx.env,
                account=account,
                details={
                    "reason": signals.REASON_USER_REVOKED,
                    "session_ids": [session_id],
                    "flow_id": ctx.flow_id,
                },
            )
        return ctx.continue_to(n.STATE_PROFILE_INIT)


def _other_sessions(setup: ActionSetup) -> list[str]:
    """Ids of the session user's active sessions other than the request's own."""
    info = getattr(setup.env, "session", None) if setup.env is not None else None
    account = session_account(setup)
    if info is None or account is None:
        return []
    return [str(row.pk) for row in sessions.active_sessions(account) if row.pk != info.session.pk]
