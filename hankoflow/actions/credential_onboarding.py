"""``password_creation``: set a password during sign-up or login onboarding (§4.0.3)."""

from __future__ import annotations

from hankoflow import errors
from hankoflow.actions.support import account_of
from hankoflow.conf import settings
from hankoflow.engine import ActionSetup, FlowContext, Outcome, Skip
from hankoflow.engine import inputs as i
from hankoflow.engine.action import Action
from hankoflow.flows import names as n
from hankoflow.services import passwords


class RegisterPassword(Action):
    name = n.ACTION_REGISTER_PASSWORD
    description = "Submit a new password."

    def initialize(self, setup: ActionSetup) -> None:
        setup.add_input(
            i.password(
                "new_password",
                required=not settings.PASSWORD.OPTIONAL,
                min_length=settings.PASSWORD.MIN_LENGTH,
            )
        )

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        raw = ctx.input("new_password", "")
        problem = passwords.new_password_errors(
            raw,
            account=account_of(ctx),
            email=ctx.stash.get(n.STASH_EMAIL),
            username=ctx.stash.get(n.STASH_USERNAME),
        )
        if problem:
            return ctx.input_error("new_password", problem)
        # Only the hash is kept until the account exists (registration) or the step ends (login).
        ctx.stash.set(n.STASH_NEW_PASSWORD, passwords.hash_password(raw))
        ctx.stash.set(n.STASH_USER_HAS_PASSWORD, True)
        ctx.prevent_revert()
        return ctx.continue_to()


class SkipPasswordCreation(Skip):
    """Offered only when a password is optional and the user can still sign in another way."""

    def initialize(self, setup: ActionSetup) -> None:
        can_login_with_email = bool(
            setup.stash.get(n.STASH_EMAIL)
            and settings.EMAIL.ENABLED
            and settings.EMAIL.USE_FOR_AUTHENTICATION
            and settings.EMAIL.USE_AS_LOGIN_IDENTIFIER
        )
        if not settings.PASSWORD.OPTIONAL or not can_login_with_email:
            # Hanko: also offered after passkey onboarding; passkeys come with issue #5.
            setup.suspend()
