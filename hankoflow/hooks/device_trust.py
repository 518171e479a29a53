"""``IssueTrustDeviceCookie``: after a login with MFA, remember the browser when the policy or
the user says so (flow-api.md §4.5.3)."""

from __future__ import annotations

from hankoflow import names as n
from hankoflow.conf import settings
from hankoflow.engine import FlowContext, Hook
from hankoflow.services import device_trust
from hankoflow.steps import account_of


class IssueTrustDeviceCookie(Hook):
    def run(self, ctx: FlowContext) -> None:
        policy = settings.MFA.DEVICE_TRUST_POLICY
        granted = ctx.stash.get(n.STASH_DEVICE_TRUST_GRANTED)
        if policy == "never" or (policy == "prompt" and not granted):
            return
        account = account_of(ctx)
        if account is None or ctx.env is None:
            return
        ctx.effects.add(device_trust.trust(ctx.env.request, account))
