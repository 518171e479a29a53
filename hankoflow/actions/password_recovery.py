"""``password_recovery_init``: the address of the account to recover (beyond Hanko, issue 15).

The standalone recovery walks the login flow's recovery: after the address it takes the very
step of ``continue_to_passcode_confirmation_recovery`` (a ``recovery`` passcode for a known
address, an ``email_login_attempted`` notice without a code for an unknown one), so both
addresses pass through the same states with the same work (security-checks PC-08).
"""

from __future__ import annotations

from hankoflow import errors, features
from hankoflow import names as n
from hankoflow.actions.credential_usage import ContinueToPasscodeConfirmationRecovery
from hankoflow.conf import settings
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome
from hankoflow.engine import inputs as i
from hankoflow.services import accounts
from hankoflow.steps import stash_identified


def recovery_available() -> bool:
    """The ``password_recovery`` flow has something to offer: passwords, recovery and email."""
    return features.passwords() and settings.PASSWORD.RECOVERY and settings.EMAIL.ENABLED


class ContinueWithRecoveryIdentifier(Action):
    name = n.ACTION_CONTINUE_WITH_RECOVERY_IDENTIFIER
    description = "Enter the email address of the account to recover."

    def initialize(self, setup: ActionSetup) -> None:
        if not recovery_available():
            setup.suspend()
            return
        setup.add_input(
            i.email(
                "email",
                required=True,
                min_length=3,
                max_length=settings.EMAIL.MAX_LENGTH,
                trim_space=True,
                lower_case=True,
            )
        )

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        email = ctx.input("email", "")
        ctx.stash.set(n.STASH_USER_IDENTIFICATION, email)
        # One query for the id and the facts, as the login identifier does (PC-08).
        account = accounts.identify_by_email(email)
        if account is None and settings.PRIVACY.SHOW_ACCOUNT_EXISTENCE_HINTS:
            return ctx.input_error("email", errors.UNKNOWN_EMAIL)
        ctx.stash.set(n.STASH_EMAIL, email)
        stash_identified(ctx, account)
        return ContinueToPasscodeConfirmationRecovery().execute(ctx)
