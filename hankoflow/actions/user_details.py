"""``onboarding_username`` and ``onboarding_email``: identifiers a signed-in user still lacks
(flow-api.md §4.0.4)."""

from __future__ import annotations

from hankoflow import errors
from hankoflow import names as n
from hankoflow.actions.registration import USERNAME_PATTERN, username_input
from hankoflow.conf import settings
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome, Skip
from hankoflow.engine import inputs as i
from hankoflow.services import accounts, audit, webhooks
from hankoflow.steps import account_of


class UsernameCreate(Action):
    name = n.ACTION_USERNAME_CREATE
    description = "Set a new username."

    def initialize(self, setup: ActionSetup) -> None:
        setup.add_input(username_input(required=not settings.USERNAME.OPTIONAL))

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        username = ctx.input("username", "")
        if not USERNAME_PATTERN.match(username):
            return ctx.input_error("username", errors.INVALID_USERNAME)
        if accounts.username_exists(username):
            return ctx.input_error("username", errors.USERNAME_ALREADY_EXISTS)
        account = account_of(ctx)
        if account is None:
            raise RuntimeError("onboarding_username without an account")
        accounts.set_username(account, username)
        audit.record(
            audit.USERNAME_CHANGED,
            env=ctx.env,
            account=account,
            details={"username": username, "flow_id": ctx.flow_id},
        )
        webhooks.user_changed(webhooks.events.USER_USERNAME_CREATE, account, env=ctx.env)
        ctx.stash.set(n.STASH_USERNAME, username)
        ctx.stash.set(n.STASH_USER_HAS_USERNAME, True)
        ctx.prevent_revert()
        return ctx.continue_to()


class SkipUsername(Skip):
    def initialize(self, setup: ActionSetup) -> None:
        if not settings.USERNAME.OPTIONAL:
            setup.suspend()


class EmailAddressSet(Action):
    name = n.ACTION_EMAIL_ADDRESS_SET
    description = "Set a new email address."

    def initialize(self, setup: ActionSetup) -> None:
        setup.add_input(
            i.string(
                "email",
                required=not settings.EMAIL.OPTIONAL,
                max_length=settings.EMAIL.MAX_LENGTH,
                preserve=True,
                trim_space=True,
                lower_case=True,
            )
        )

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        email = ctx.input("email", "")
        taken = accounts.email_exists(email)
        ctx.stash.set(n.STASH_EMAIL, email)
        if settings.EMAIL.REQUIRE_VERIFICATION:
            template = (
                n.TEMPLATE_EMAIL_REGISTRATION_ATTEMPTED if taken else n.TEMPLATE_EMAIL_VERIFICATION
            )
            ctx.stash.set(n.STASH_PASSCODE_TEMPLATE, template)
            ctx.stash.set(n.STASH_LOGIN_ONBOARDING_CREATE_EMAIL, True)
            return ctx.continue_to(n.STATE_PASSCODE_CONFIRMATION)
        if taken:
            return ctx.input_error("email", errors.EMAIL_ALREADY_EXISTS)
        ctx.stash.set(n.STASH_LOGIN_ONBOARDING_CREATE_EMAIL, True)
        ctx.prevent_revert()
        return ctx.continue_to()


class SkipEmail(Skip):
    def initialize(self, setup: ActionSetup) -> None:
        if not settings.EMAIL.OPTIONAL:
            setup.suspend()
