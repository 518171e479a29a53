"""Login hooks that store what onboarding collected (flow-api.md §4.0.8, §4.1.2).

Registration keeps everything in the stash until ``success`` creates the account; login has an
account already, so these write as soon as the state is left.
"""

from __future__ import annotations

from hankoflow import names as n
from hankoflow import signals
from hankoflow.conf import settings
from hankoflow.engine import FlowContext, Hook
from hankoflow.services import accounts, audit, events
from hankoflow.steps import account_of


def _account(ctx: FlowContext) -> accounts.Account:
    account = account_of(ctx)
    if account is None:
        raise RuntimeError("no account for this login flow")
    return account


class CreateEmail(Hook):
    """Add the address from ``onboarding_email`` once it may be stored (verified if required)."""

    def run(self, ctx: FlowContext) -> None:
        email = ctx.stash.get(n.STASH_EMAIL)
        if not (email and ctx.stash.get(n.STASH_LOGIN_ONBOARDING_CREATE_EMAIL)):
            return
        if settings.EMAIL.REQUIRE_VERIFICATION and not ctx.stash.get(n.STASH_EMAIL_VERIFIED):
            return
        ctx.stash.set(n.STASH_LOGIN_ONBOARDING_CREATE_EMAIL, False)
        account = _account(ctx)
        accounts.add_email(account, email, verified=False)
        audit.record(
            audit.EMAIL_CREATED,
            env=ctx.env,
            account=account,
            details={"email": email, "flow_id": ctx.flow_id},
        )


class EmailPersistVerifiedStatus(Hook):
    """A verified passcode proves the address: store it as verified."""

    def run(self, ctx: FlowContext) -> None:
        email = ctx.stash.get(n.STASH_EMAIL)
        if not (email and ctx.stash.get(n.STASH_EMAIL_VERIFIED)):
            return
        account = _account(ctx)
        accounts.mark_email_verified(account, email)
        audit.record(
            audit.EMAIL_VERIFIED,
            env=ctx.env,
            account=account,
            details={"email": email, "flow_id": ctx.flow_id},
        )


class PasswordSave(Hook):
    """Store the password set in ``password_creation`` during login onboarding."""

    def run(self, ctx: FlowContext) -> None:
        password_hash = ctx.stash.get(n.STASH_NEW_PASSWORD)
        if not password_hash:
            return
        account = _account(ctx)
        account.user.password = password_hash  # hashed by register_password
        account.user.save(update_fields=["password"])
        ctx.stash.delete(n.STASH_NEW_PASSWORD)
        audit.record(
            audit.PASSWORD_CHANGED,
            env=ctx.env,
            account=account,
            details={"context": "onboarding", "flow_id": ctx.flow_id},
        )
        events.credential_added(account, signals.CREDENTIAL_PASSWORD, None, env=ctx.env)
