"""Hooks before ``success``: create the account (registration), describe the user, work out
the authentication methods and issue the session (flow-api.md §4.5, §4.2.3)."""

from __future__ import annotations

from hankoflow import errors
from hankoflow.actions.support import account_of
from hankoflow.engine import FlowContext, Hook, StepRefused
from hankoflow.flows import names as n
from hankoflow.services import accounts, audit, sessions

# login_method -> amr value (flow-api.md §4.5.1)
AMR_BY_LOGIN_METHOD = {"password": "pwd", "passkey": "passkey", "passcode": "otp"}
STASH_AMR = "amr"


class CreateUser(Hook):
    """Registration: the account exists only from here on, with everything the flow collected."""

    def run(self, ctx: FlowContext) -> None:
        if ctx.stash.get(n.STASH_SKIP_USER_CREATION):
            return
        try:
            account = accounts.create(
                ctx.stash.get(n.STASH_USER_ID),
                email=ctx.stash.get(n.STASH_EMAIL),
                email_verified=bool(ctx.stash.get(n.STASH_EMAIL_VERIFIED)),
                username=ctx.stash.get(n.STASH_USERNAME),
                password_hash=ctx.stash.get(n.STASH_NEW_PASSWORD),
            )
        except (accounts.EmailAlreadyExists, accounts.UsernameAlreadyExists):
            # Another sign-up took the address or name while this flow ran.
            raise StepRefused(errors.OPERATION_NOT_PERMITTED) from None
        ctx.stash.delete(n.STASH_NEW_PASSWORD)
        details = {"flow_id": ctx.flow_id}
        if ctx.stash.get(n.STASH_USERNAME):
            details["username"] = ctx.stash.get(n.STASH_USERNAME)
        if account.user.has_usable_password():
            details["password"] = True
        audit.record(audit.USER_CREATED, env=ctx.env, account=account, details=details)


class GetUserData(Hook):
    def run(self, ctx: FlowContext) -> None:
        ctx.payload["user"] = accounts.profile_data(_account(ctx))


class DetermineLoginAMR(Hook):
    """Login: the method used, e.g. ``["pwd"]`` or ``["otp"]`` for an email passcode."""

    def run(self, ctx: FlowContext) -> None:
        method = AMR_BY_LOGIN_METHOD.get(ctx.stash.get(n.STASH_LOGIN_METHOD, ""))
        ctx.stash.set(STASH_AMR, [method] if method else [])


class DetermineRegistrationAMR(Hook):
    """Registration: ``otp`` if an email passcode was verified, then each enrolled method."""

    def run(self, ctx: FlowContext) -> None:
        amr = []
        if ctx.stash.get(n.STASH_REGISTRATION_AMR_PASSCODE):
            amr.append("otp")
        if _account(ctx).user.has_usable_password():
            amr.append("pwd")
        ctx.stash.set(STASH_AMR, amr)


class IssueSession(Hook):
    """Sign the session JWT, store the session row, and hand out the cookie or header."""

    def run(self, ctx: FlowContext) -> None:
        account = _account(ctx)
        issued = sessions.issue(
            account,
            amr=ctx.stash.get(STASH_AMR, []),
            env=ctx.env,
            remember_me=ctx.stash.get(n.STASH_REMEMBER_ME_SELECTED),
        )
        ctx.payload["claims"] = issued.claims
        for effect in issued.effects:
            ctx.effects.add(effect)
        if ctx.is_flow(n.FLOW_LOGIN):
            method = ctx.stash.get(n.STASH_LOGIN_METHOD)
            ctx.payload["last_login"] = {"login_method": method}
            audit.record(
                audit.LOGIN_SUCCESS,
                env=ctx.env,
                account=account,
                details={"login_method": method, "flow_id": ctx.flow_id},
            )


def _account(ctx: FlowContext) -> accounts.Account:
    account = account_of(ctx)
    if account is None:
        raise RuntimeError("success reached without an account")
    return account
