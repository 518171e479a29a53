"""Actions offered in several flows' states."""

from hankoflow import names
from hankoflow.conf import settings
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome
from hankoflow.engine import inputs as i


class RememberMe(Action):
    """Let the user choose a persistent session when retention is ``prompt`` (§4.0.2.1)."""

    name = names.ACTION_REMEMBER_ME
    description = "Enables the user to stay signed in."

    def initialize(self, setup: ActionSetup) -> None:
        if settings.SESSION.COOKIE.RETENTION != "prompt":
            setup.suspend()
            return
        setup.add_input(i.boolean("remember_me", required=True))

    def execute(self, ctx: FlowContext) -> Outcome:
        ctx.stash.set(names.STASH_REMEMBER_ME_SELECTED, ctx.input("remember_me") is True)
        return ctx.continue_to(ctx.current_state)
