"""Profile actions on the authenticator app (flow-api.md §4.3.2 #2, #7).

``continue_to_otp_secret_creation`` leads to ``mfa_otp_secret_creation`` of the ``mfa_creation``
sub-flow (secret and QR code from ``OTPSecretGenerate``), whose ``otp_code_verify`` stores the
secret for the session user at once and comes back to ``profile_init``.
"""

from __future__ import annotations

from hankoflow import emails, features
from hankoflow import names as n
from hankoflow.actions.profile.reauthentication import reauthentication_required
from hankoflow.conf import settings
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome
from hankoflow.engine import errors as engine_errors
from hankoflow.models import Account
from hankoflow.services import accounts, notifications, totp, webauthn
from hankoflow.steps import account_of, lock_account, session_account


def otp_secret_deletable(account: Account) -> bool:
    """Row #7: the app is not the last second factor while MFA is mandatory."""
    facts = accounts.facts(account)
    if not facts.has_otp_secret:
        return False
    mandatory = settings.MFA.ENABLED and not settings.MFA.OPTIONAL
    return not (mandatory and not webauthn.credentials_of(account, mfa_only=True))


class ContinueToOtpSecretCreation(Action):
    """Row #2: set up an authenticator app when the user has none."""

    name = n.ACTION_CONTINUE_TO_OTP_SECRET_CREATION
    description = "Create an OTP secret"

    def initialize(self, setup: ActionSetup) -> None:
        account = session_account(setup)
        # Hanko: offers it with MFA switched off too (MFA.TOTP.ENABLED alone), where sign-in
        # would never ask for the code; features.totp() needs both.
        if not (features.totp() and account is not None):
            setup.suspend()
            return
        facts = accounts.facts(account)
        # Hanko: a user with neither email nor username gets technical_error from the secret's
        # hook (it names the secret after one of them); we do not offer it to them.
        if facts.has_otp_secret or not (facts.primary_email or facts.username):
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        if (outcome := reauthentication_required(ctx)) is not None:
            return outcome
        account = account_of(ctx)
        if account is None:
            return ctx.error(engine_errors.OPERATION_NOT_PERMITTED)
        facts = accounts.facts(account)
        # What OTPSecretGenerate names the secret after.
        for key, value in (
            (n.STASH_EMAIL, facts.primary_email),
            (n.STASH_USERNAME, facts.username),
        ):
            if value:
                ctx.stash.set(key, value)
            else:
                ctx.stash.delete(key)
        # A new secret each time: one from an earlier enrolment in this flow may have been
        # deleted since, and must not come back.
        ctx.stash.delete(n.STASH_OTP_SECRET)
        ctx.stash.delete(n.STASH_OTP_IMAGE_SRC)
        return ctx.continue_to(n.STATE_MFA_OTP_SECRET_CREATION, n.STATE_PROFILE_INIT)


class OtpSecretDelete(Action):
    """Row #7: remove the authenticator app (notification ``mfa_delete``)."""

    name = n.ACTION_OTP_SECRET_DELETE
    description = "Delete an OTP secret"

    def initialize(self, setup: ActionSetup) -> None:
        account = session_account(setup)
        if account is None or not otp_secret_deletable(account):
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        if (outcome := reauthentication_required(ctx)) is not None:
            return outcome
        account = account_of(ctx)
        if account is None:
            return ctx.error(engine_errors.OPERATION_NOT_PERMITTED)
        account = lock_account(ctx, account)
        if not otp_secret_deletable(account):  # a concurrent step removed the other factor
            return ctx.error(engine_errors.OPERATION_NOT_PERMITTED)
        request = ctx.env.request if ctx.env else None
        if totp.remove_secret(account, request=request):
            notifications.notify(account, emails.MFA_DELETE, env=ctx.env)
        return ctx.continue_to(n.STATE_PROFILE_INIT)
