"""The login method chooser's own actions: go on with a password or with an email passcode
(the passkey choice is ``WebauthnGenerateRequestOptions``, in passkey.py)."""

from __future__ import annotations

from hankoflow import features
from hankoflow import names as n
from hankoflow.conf import settings
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome
from hankoflow.steps import start_passcode_login


class ContinueToPasswordLogin(Action):
    name = n.ACTION_CONTINUE_TO_PASSWORD_LOGIN
    description = "Continue to the password login."

    def initialize(self, setup: ActionSetup) -> None:
        if settings.PRIVACY.ONLY_SHOW_ACTUAL_LOGIN_METHODS and not (
            setup.stash.get(n.STASH_USER_HAS_PASSWORD) and features.passwords()
        ):
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        return ctx.continue_to(n.STATE_LOGIN_PASSWORD)


class ContinueToPasscodeConfirmation(Action):
    name = n.ACTION_CONTINUE_TO_PASSCODE_CONFIRMATION
    description = "Send a login passcode code via email."

    def initialize(self, setup: ActionSetup) -> None:
        if settings.PRIVACY.ONLY_SHOW_ACTUAL_LOGIN_METHODS and not (
            setup.stash.get(n.STASH_USER_HAS_EMAILS) and features.passcode_login()
        ):
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        return start_passcode_login(ctx)
