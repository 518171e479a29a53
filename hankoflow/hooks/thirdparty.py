"""Hooks of third-party sign-ins."""

from __future__ import annotations

from hankoflow import names as n
from hankoflow.engine import FlowContext, Hook
from hankoflow.services import accounts, audit
from hankoflow.steps import account_of


class PersistThirdPartyEmailVerified(Hook):
    """Registration after ``exchange_token``: the account exists already, so the address the
    passcode just proved is marked verified now (a normal sign-up stores it at ``success``)."""

    def run(self, ctx: FlowContext) -> None:
        if ctx.stash.get(n.STASH_LOGIN_METHOD) != n.LOGIN_METHOD_THIRD_PARTY:
            return
        email = ctx.stash.get(n.STASH_EMAIL)
        account = account_of(ctx)
        if not (email and ctx.stash.get(n.STASH_EMAIL_VERIFIED) and account is not None):
            return
        accounts.mark_email_verified(account, email)
        audit.record(
            audit.EMAIL_VERIFIED,
            env=ctx.env,
            account=account,
            details={"email": email, "flow_id": ctx.flow_id},
        )
