"""``device_trust``: remember this browser so the second factor is not asked again (§4.0.7)."""

from __future__ import annotations

from hankoflow import names as n
from hankoflow.engine import Action, FlowContext, Outcome


class TrustDevice(Action):
    name = n.ACTION_TRUST_DEVICE
    description = "Trust this device, to skip MFA on subsequent logins."

    def execute(self, ctx: FlowContext) -> Outcome:
        ctx.stash.set(n.STASH_DEVICE_TRUST_GRANTED, True)  # the cookie is set at success
        ctx.prevent_revert()
        return ctx.continue_to()
