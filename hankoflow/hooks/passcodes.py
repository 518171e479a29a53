"""``SendPasscode``: before ``passcode_confirmation``, send a passcode unless a usable one exists
(flow-api.md §4.0.2.11)."""

from __future__ import annotations

from hankoflow import names as n
from hankoflow.engine import FlowContext, Hook
from hankoflow.services import passcodes
from hankoflow.steps import deliver_passcode, passcode_send_error


class SendPasscode(Hook):
    def run(self, ctx: FlowContext) -> None:
        if ctx.flow_error is not None:
            return  # a re-render after an error: the passcode already went out
        email = ctx.stash.get(n.STASH_EMAIL)
        if not email or not ctx.stash.get(n.STASH_PASSCODE_TEMPLATE):
            raise RuntimeError("passcode_confirmation needs an email and a template")
        same_email = ctx.stash.get(n.STASH_PASSCODE_EMAIL) == email
        if same_email and passcodes.is_usable(ctx.stash.get(n.STASH_PASSCODE_ID), email):
            return  # e.g. back and forth within the passcode's lifetime: nothing new to send
        # Hanko takes a rate-limit token every time this hook runs, even when it sends nothing
        # (so a resend costs two); we count sends only.
        if limited := passcode_send_error(ctx, email):
            ctx.set_flow_error(limited)
            return
        deliver_passcode(ctx)
