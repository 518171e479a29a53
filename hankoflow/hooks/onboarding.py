"""``ScheduleOnboardingStates`` (login): what follows once the user has proven who they are
(flow-api.md §4.1.3). MFA usage, passkey onboarding and device trust join with issue #5."""

from __future__ import annotations

from hankoflow import features
from hankoflow.conf import settings
from hankoflow.engine import FlowContext, Hook
from hankoflow.flows import names as n


class ScheduleOnboardingStates(Hook):
    def run(self, ctx: FlowContext) -> None:
        stash = ctx.stash
        if stash.get(n.STASH_LOGIN_ONBOARDING_SCHEDULED):
            return
        stash.set(n.STASH_LOGIN_ONBOARDING_SCHEDULED, True)
        states = []
        recovering = bool(stash.get(n.STASH_PW_RECOVERY_PENDING))
        if recovering:
            states.append(n.STATE_LOGIN_PASSWORD_RECOVERY)
        if (
            not stash.get(n.STASH_USER_HAS_USERNAME)
            and settings.USERNAME.ENABLED
            and settings.USERNAME.ACQUIRE_ON_LOGIN
        ):
            states.append(n.STATE_ONBOARDING_USERNAME)
        if (
            not stash.get(n.STASH_USER_HAS_EMAILS)
            and settings.EMAIL.ENABLED
            and settings.EMAIL.ACQUIRE_ON_LOGIN
        ):
            states.append(n.STATE_ONBOARDING_EMAIL)
        password_mode = "never" if recovering else settings.PASSWORD.ACQUIRE_ON_LOGIN
        if (
            features.passwords()
            and password_mode in ("always", "conditional")
            and not stash.get(n.STASH_USER_HAS_PASSWORD)
        ):
            states.append(n.STATE_PASSWORD_CREATION)
        states.append(n.STATE_SUCCESS)
        ctx.schedule(*states)
