"""``ScheduleOnboardingStates`` (login): what follows once the user has proven who they are
(flow-api.md §4.1.3): the second factor, a pending password reset, missing identifiers, missing
credentials, device trust, and finally ``success``."""

from __future__ import annotations

from hankoflow import features
from hankoflow import names as n
from hankoflow.conf import settings
from hankoflow.engine import FlowContext, Hook
from hankoflow.steps import (
    can_use_passkeys,
    credential_onboarding_states,
    device_trusted,
    second_factor_state,
)


class ScheduleOnboardingStates(Hook):
    def run(self, ctx: FlowContext) -> None:
        stash = ctx.stash
        if stash.get(n.STASH_LOGIN_ONBOARDING_SCHEDULED):
            return
        stash.set(n.STASH_LOGIN_ONBOARDING_SCHEDULED, True)
        trusted = self._trusted_device(ctx)
        second_factor = self._second_factor(ctx, trusted)
        if second_factor == n.STATE_ERROR:
            ctx.schedule(n.STATE_ERROR)
            return
        states = [second_factor] if second_factor else []
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
        states += credential_onboarding_states(
            passkeys=can_use_passkeys(ctx),
            passwords=features.passwords(),
            passkey_mode=settings.PASSKEY.ACQUIRE_ON_LOGIN,
            password_mode="never" if recovering else settings.PASSWORD.ACQUIRE_ON_LOGIN,
            has_passkey=bool(stash.get(n.STASH_USER_HAS_PASSKEY)),
            has_password=bool(stash.get(n.STASH_USER_HAS_PASSWORD)),
        )
        enrolled = stash.get(n.STASH_USER_HAS_SECURITY_KEY) or stash.get(
            n.STASH_USER_HAS_OTP_SECRET
        )
        if (
            features.mfa()
            and settings.MFA.DEVICE_TRUST_POLICY == "prompt"
            and (
                stash.get(n.STASH_LOGIN_METHOD) != n.LOGIN_METHOD_PASSKEY
                or not stash.get(n.STASH_PASSKEY_USER_VERIFIED, True)  # it asked the factor
            )
            and enrolled
            and not trusted
        ):
            states.append(n.STATE_DEVICE_TRUST)
        states.append(n.STATE_SUCCESS)
        ctx.schedule(*states)

    @staticmethod
    def _trusted_device(ctx: FlowContext) -> bool:
        return device_trusted(ctx)

    @staticmethod
    def _second_factor(ctx: FlowContext, trusted: bool) -> str | None:
        return second_factor_state(ctx, trusted=trusted)
