"""Actions of the ``capabilities`` sub-flow (flow-api.md §2.9, §4.0.1)."""

from hankoflow import names
from hankoflow.conf import settings
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome
from hankoflow.engine import inputs as i


class RegisterClientCapabilities(Action):
    name = names.ACTION_REGISTER_CLIENT_CAPABILITIES
    description = "Send the computers capabilities."

    def initialize(self, setup: ActionSetup) -> None:
        setup.add_input(
            i.boolean(names.STASH_WEBAUTHN_CONDITIONAL_MEDIATION_AVAILABLE, hidden=True),
            i.boolean(names.STASH_WEBAUTHN_PLATFORM_AUTHENTICATOR_AVAILABLE, hidden=True),
            i.boolean(names.STASH_WEBAUTHN_AVAILABLE, required=True, hidden=True),
        )

    def execute(self, ctx: FlowContext) -> Outcome:
        # Booleans are not validated (as in Hanko); anything but JSON ``true`` counts as false.
        for key in (
            names.STASH_WEBAUTHN_AVAILABLE,
            names.STASH_WEBAUTHN_CONDITIONAL_MEDIATION_AVAILABLE,
            names.STASH_WEBAUTHN_PLATFORM_AUTHENTICATOR_AVAILABLE,
        ):
            ctx.stash.set(key, ctx.input(key) is True)
        platform = ctx.stash.get(names.STASH_WEBAUTHN_PLATFORM_AUTHENTICATOR_AVAILABLE)
        attachment = settings.MFA.SECURITY_KEYS.AUTHENTICATOR_ATTACHMENT
        ctx.stash.set(
            names.STASH_SECURITY_KEY_ATTACHMENT_SUPPORTED, platform or attachment != "platform"
        )
        return ctx.continue_to()
