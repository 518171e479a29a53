"""``CompletePasscodeReauthentication``: after ``passcode_confirmation`` in the profile flow, a
passcode verified for re-authentication counts as the first factor (see
``actions/profile/reauthentication.py``).

``passcode_confirmation`` is shared with email verification, so this hook only acts when the
stash says the passcode was asked for re-authentication and ``verify_passcode`` verified it.
"""

from __future__ import annotations

from hankoflow import names as n
from hankoflow.engine import FlowContext, Hook
from hankoflow.services.sessions import reauthentication


class CompletePasscodeReauthentication(Hook):
    """Mark the session re-authenticated, or queue the second factor the session had."""

    def run(self, ctx: FlowContext) -> None:
        if ctx.stash.get(n.STASH_REAUTHENTICATION_METHOD) != n.LOGIN_METHOD_PASSCODE:
            return
        if not ctx.stash.get(n.STASH_EMAIL_VERIFIED):
            return  # e.g. resend_passcode: the code is not verified yet
        # Spent: a later resend in an email verification of this flow must not find it set.
        ctx.stash.set(n.STASH_EMAIL_VERIFIED, False)
        ctx.prevent_revert()
        second_factors = ctx.stash.get(n.STASH_REAUTHENTICATION_SECOND_FACTOR) or []
        if second_factors:
            ctx.schedule(second_factors[0])
            return
        reauthentication.mark_reauthenticated(
            ctx.env.session.session,
            env=ctx.env,
            details={"login_method": n.LOGIN_METHOD_PASSCODE, "flow_id": ctx.flow_id},
        )
        ctx.stash.delete(n.STASH_REAUTHENTICATION_METHOD)
        ctx.stash.delete(n.STASH_REAUTHENTICATION_SECOND_FACTOR)
