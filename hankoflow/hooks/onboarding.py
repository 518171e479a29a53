"""``ScheduleOnboardingStates`` (login): what follows once the user has proven who they are
(flow-api.md §4.1.3): the second factor, a pending password reset, missing identifiers, missing
credentials, device trust, and finally ``success``."""

from __future__ import annotations

from hankoflow import errors, features
from hankoflow import names as n
from hankoflow.conf import settings
from hankoflow.engine import FlowContext, Hook
from hankoflow.services import device_trust
from hankoflow.steps import account_of, can_use_passkeys, credential_onboarding_states


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
            and stash.get(n.STASH_LOGIN_METHOD) != n.LOGIN_METHOD_PASSKEY
            and enrolled
            and not trusted
        ):
            states.append(n.STATE_DEVICE_TRUST)
        states.append(n.STATE_SUCCESS)
        ctx.schedule(*states)

    @staticmethod
    def _trusted_device(ctx: FlowContext) -> bool:
        account = account_of(ctx)
        return bool(account and ctx.env and device_trust.is_trusted(ctx.env.request, account))

    @staticmethod
    def _second_factor(ctx: FlowContext, trusted: bool) -> str | None:
        """The MFA state a user with an enrolled factor must pass (security-checks FL-08)."""
        stash = ctx.stash
        if not features.mfa() or trusted:
            return None
        if stash.get(n.STASH_LOGIN_METHOD) == n.LOGIN_METHOD_PASSKEY and stash.get(
            n.STASH_PASSKEY_USER_VERIFIED, True
        ):
            # Hanko: skips the second factor after any passkey; we only after one that verified
            # the user (security-checks WA-04, FL-08): presence alone is one factor.
            return None  # a passkey is already possession plus user verification
        has_key = bool(stash.get(n.STASH_USER_HAS_SECURITY_KEY))
        otp_ok = features.totp() and bool(stash.get(n.STASH_USER_HAS_OTP_SECRET))
        attachment_ok = bool(stash.get(n.STASH_SECURITY_KEY_ATTACHMENT_SUPPORTED))
        if features.security_keys() and has_key:
            if attachment_ok:
                return n.STATE_LOGIN_SECURITY_KEY
            if otp_ok:
                return n.STATE_LOGIN_OTP
            ctx.set_flow_error(errors.PLATFORM_AUTHENTICATOR_REQUIRED)
            return n.STATE_ERROR
        return n.STATE_LOGIN_OTP if otp_ok else None
