"""Hooks that store what onboarding and passcodes proved (flow-api.md §4.0.8, §4.1.2, §4.3).

Registration keeps everything in the stash until ``success`` creates the account; login and the
profile have an account already, so these write as soon as the state is left.
"""

from __future__ import annotations

from hankoflow import emails as kinds
from hankoflow import errors, signals
from hankoflow import names as n
from hankoflow.conf import settings
from hankoflow.engine import FlowContext, Hook, StepRefused
from hankoflow.services import accounts, audit, email_addresses, events, notifications, webhooks
from hankoflow.steps import account_of, lock_account


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
        webhooks.user_changed(webhooks.events.USER_EMAIL_CREATE, account, env=ctx.env)


class EmailPersistVerifiedStatus(Hook):
    """A verified passcode proves the address: store it as verified."""

    def run(self, ctx: FlowContext) -> None:
        email = ctx.stash.get(n.STASH_EMAIL)
        if not (email and ctx.stash.get(n.STASH_EMAIL_VERIFIED)):
            return
        if ctx.is_flow(n.FLOW_PROFILE):
            _persist_for_session_user(ctx, email)
            return
        account = _account(ctx)
        accounts.mark_email_verified(account, email)
        audit.record(
            audit.EMAIL_VERIFIED,
            env=ctx.env,
            account=account,
            details={"email": email, "flow_id": ctx.flow_id},
        )


def _persist_for_session_user(ctx: FlowContext, email: str) -> None:
    """Profile: the address a passcode just proved joins the session user's account, verified
    (``email_create``), or is marked verified (``email_verify``); flow-api.md §4.3.2 #3, #6."""
    template = ctx.stash.get(n.STASH_PASSCODE_TEMPLATE)
    if template == n.TEMPLATE_EMAIL_REGISTRATION_ATTEMPTED:
        # The address is someone else's and its code was never sent (email_create's privacy
        # branch): a lucky guess must not take it over.
        raise StepRefused(errors.OPERATION_NOT_PERMITTED)
    if template != n.TEMPLATE_EMAIL_VERIFICATION:
        return  # a passcode for another purpose (re-authentication) adds no address
    account = lock_account(ctx, _account(ctx))
    before = email_addresses.primary(account)
    known = any(row.address == email for row in account.emails.all())
    if not known and len(account.emails.all()) >= settings.EMAIL.LIMIT:
        raise StepRefused(errors.OPERATION_NOT_PERMITTED)  # addresses added meanwhile
    try:
        accounts.mark_email_verified(account, email)
    except accounts.EmailAlreadyExists:
        raise StepRefused(errors.OPERATION_NOT_PERMITTED) from None  # taken meanwhile
    details = {"email": email, "flow_id": ctx.flow_id}
    audit.record(audit.EMAIL_VERIFIED, env=ctx.env, account=account, details=details)
    if known:
        return  # Hanko: also sends the "email added" notice when an old address is verified
    audit.record(audit.EMAIL_CREATED, env=ctx.env, account=account, details=details)
    webhooks.user_changed(webhooks.events.USER_EMAIL_CREATE, account, env=ctx.env)
    if before is not None:
        notifications.notify(
            account,
            kinds.EMAIL_CREATE,
            env=ctx.env,
            to=before.address,
            context={"new_email": email},
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
