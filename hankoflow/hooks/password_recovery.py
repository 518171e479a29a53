"""``ScheduleRecoveryStates`` (``password_recovery``, beyond Hanko): what follows the verified
recovery passcode.

The login flow's order (flow-api.md §4.1.3): the enrolled second factor first, by the login
flow's own rule, then the new password, then ``success`` (a session, when
``PASSWORD_RECOVERY.AUTO_LOGIN``) or ``password_changed``. The second factor is asked whether or
not a session follows: someone who holds only the mailbox can neither sign in (security-checks
PW-08) nor end the owner's sessions by resetting the password.
"""

from __future__ import annotations

from hankoflow import names as n
from hankoflow.conf import settings
from hankoflow.engine import FlowContext, Hook
from hankoflow.hooks.onboarding import ScheduleOnboardingStates


class ScheduleRecoveryStates(Hook):
    def run(self, ctx: FlowContext) -> None:
        if ctx.stash.get(n.STASH_RECOVERY_SCHEDULED):
            return  # leaving login_passkey (a security key) leaves credential_usage again
        ctx.stash.set(n.STASH_RECOVERY_SCHEDULED, True)
        # The login flow's rule for the second factor, device trust included (FL-08).
        trusted = ScheduleOnboardingStates._trusted_device(ctx)
        second_factor = ScheduleOnboardingStates._second_factor(ctx, trusted)
        if second_factor == n.STATE_ERROR:
            ctx.schedule(n.STATE_ERROR)
            return
        states = [second_factor] if second_factor else []
        states.append(n.STATE_LOGIN_PASSWORD_RECOVERY)
        auto_login = settings.PASSWORD_RECOVERY.AUTO_LOGIN
        states.append(n.STATE_SUCCESS if auto_login else n.STATE_PASSWORD_CHANGED)
        ctx.schedule(*states)
