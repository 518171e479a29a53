"""``AcceptInvitation`` (``invited_registration``, beyond Hanko): before ``success``, consume the
invitation and create its account in one transaction (``services.invitations.accept``).

An invitation used, revoked or expired since the code was entered refuses the step with the
reason; so does an address or credential taken meanwhile (``CreateUser``'s refusal). Either way
nothing of the account remains and the invitation stays as it was.
"""

from __future__ import annotations

from hankoflow import errors
from hankoflow import names as n
from hankoflow.engine import FlowContext, Hook, StepRefused
from hankoflow.hooks.success import CreateUser
from hankoflow.services import accounts, invitations
from hankoflow.steps import account_of


class AcceptInvitation(Hook):
    def run(self, ctx: FlowContext) -> None:
        def create_account() -> accounts.Account:
            CreateUser().run(ctx)
            account = account_of(ctx)
            if account is None:
                raise RuntimeError("CreateUser made no account")
            return account

        try:
            invitations.accept(
                ctx.stash.get(n.STASH_INVITATION_ID, ""),
                ctx.stash.get(n.STASH_EMAIL, ""),
                create_account=create_account,
                env=ctx.env,
                details={"flow_id": ctx.flow_id},
            )
        except invitations.InvitationUnusable as refused:
            raise StepRefused(refused.flow_error or errors.OPERATION_NOT_PERMITTED) from None
