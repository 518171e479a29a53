"""Password login, and password recovery through a passcode (§4.0.2.7)."""

from __future__ import annotations

from hankoflow import emails, errors, features, signals
from hankoflow import names as n
from hankoflow.conf import settings
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome
from hankoflow.engine import inputs as i
from hankoflow.services import (
    accounts,
    audit,
    events,
    notifications,
    passwords,
    ratelimit,
    sessions,
    webhooks,
)
from hankoflow.steps import (
    account_of,
    held_lock,
    rate_limit_error,
    record_login_failure,
    schedule_mfa_creation,
    stash_account_facts,
)


class PasswordLogin(Action):
    """Check the password; every failure looks and costs the same (security-checks PW-04/05), and
    the account's attempt budget bounds the guesses (PW-06)."""

    name = n.ACTION_PASSWORD_LOGIN
    description = "Login with a password."

    def initialize(self, setup: ActionSetup) -> None:
        if not features.passwords():
            setup.suspend()
            return
        setup.add_input(i.password("password", required=True))

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        identification = ctx.stash.get(n.STASH_USER_IDENTIFICATION, "")
        key = ratelimit.password_key(ctx.env.ip, identification)
        if limited := rate_limit_error(ctx, ratelimit.Bucket.PASSWORD, key):
            return ctx.error(limited)
        # Locked with the load: a right password signs in, and issuing the session needs it.
        account = _account_by_identifier(ctx, lock=True)
        if account is not None:
            held_lock(ctx, account)
        check = passwords.verify_login(
            account, ctx.input("password", ""), identifier=identification, ip=ctx.env.ip
        )
        if not check.ok:
            record_login_failure(
                ctx,
                account=account,
                identifier=identification,
                method=signals.LOGIN_METHOD_PASSWORD,
                reason=signals.FAILURE_TOO_MANY_ATTEMPTS
                if check.retry_after
                else signals.FAILURE_WRONG_PASSWORD,
                error="password attempts refused" if check.retry_after else "wrong password",
                details={"login_method": n.LOGIN_METHOD_PASSWORD, "flow_id": ctx.flow_id},
            )
        if check.retry_after:
            # Hanko: only its per-IP limit answers this; the account's attempt budget does too.
            ctx.payload["retry_after"] = check.retry_after
            return ctx.error(errors.RATE_LIMIT_EXCEEDED)
        if not check.ok:
            return ctx.input_error("password", errors.VALUE_INVALID)
        stash_account_facts(ctx, account)
        ctx.stash.set(n.STASH_LOGIN_METHOD, n.LOGIN_METHOD_PASSWORD)
        ctx.prevent_revert()
        schedule_mfa_creation(ctx)
        return ctx.continue_to()


def _account_by_identifier(ctx: FlowContext, *, lock: bool = False) -> accounts.Account | None:
    email = ctx.stash.get(n.STASH_EMAIL)
    if email:
        return accounts.find_by_email(email, lock=lock)
    username = ctx.stash.get(n.STASH_USERNAME)
    return accounts.find_by_username(username, lock=lock) if username else None


class ContinueToPasscodeConfirmationRecovery(Action):
    name = n.ACTION_CONTINUE_TO_PASSCODE_CONFIRMATION_RECOVERY
    description = "Send a recovery passcode code via email."

    def initialize(self, setup: ActionSetup) -> None:
        if not (settings.PASSWORD.RECOVERY and setup.stash.get(n.STASH_EMAIL)):
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        known = bool(ctx.stash.get(n.STASH_USER_ID))
        ctx.stash.set(n.STASH_LOGIN_METHOD, n.LOGIN_METHOD_PASSWORD)
        ctx.stash.set(
            n.STASH_PASSCODE_TEMPLATE,
            n.TEMPLATE_RECOVERY if known else n.TEMPLATE_EMAIL_LOGIN_ATTEMPTED,
        )
        ctx.stash.set(n.STASH_PW_RECOVERY_PENDING, True)
        return ctx.continue_to(n.STATE_PASSCODE_CONFIRMATION)


class PasswordRecovery(Action):
    """Set a new password after a recovery passcode (§4.0.2.7)."""

    name = n.ACTION_PASSWORD_RECOVERY
    description = "Submit a new password."

    def initialize(self, setup: ActionSetup) -> None:
        if not features.passwords():
            setup.suspend()
            return
        setup.add_input(
            i.password(
                "new_password",
                required=True,
                min_length=settings.PASSWORD.MIN_LENGTH,
                max_length=72,
            )
        )

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        account = account_of(ctx)
        if account is None:
            return ctx.error(errors.OPERATION_NOT_PERMITTED)
        raw = ctx.input("new_password", "")
        problem = passwords.new_password_errors(raw, account=account)
        if problem:
            return ctx.input_error("new_password", problem)
        had_password = account.user.has_usable_password()
        passwords.set_password(account, raw)
        audit.record(
            audit.PASSWORD_CHANGED,
            env=ctx.env,
            account=account,
            details={"context": "recovery", "flow_id": ctx.flow_id},
        )
        webhooks.user_changed(webhooks.events.USER_PASSWORD_UPDATE, account, env=ctx.env)
        if not had_password:
            events.credential_added(account, signals.CREDENTIAL_PASSWORD, None, env=ctx.env)
        else:
            # Hanko: only the profile's password_update sends it; a reset password is a change
            # the owner must hear of too (security-checks PW-07).
            notifications.notify(account, emails.PASSWORD_UPDATE, env=ctx.env)
        # Hanko: other sessions survive a recovery. A reset password ends them, and the devices
        # trusted for MFA, in this step's transaction (security-checks SE-07); the session this
        # flow issues on success comes later and stays.
        sessions.revoke_all(
            account,
            reason=signals.REASON_CREDENTIAL_RESET,
            env=ctx.env,
            audit_details={"context": "recovery", "flow_id": ctx.flow_id},
        )
        ctx.stash.set(n.STASH_USER_HAS_PASSWORD, True)
        ctx.stash.set(n.STASH_PW_RECOVERY_PENDING, False)
        schedule_mfa_creation(ctx)
        ctx.prevent_revert()
        return ctx.continue_to()
