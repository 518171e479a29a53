"""Actions of ``mfa_creation``: enrol an authenticator app or a security key (§4.0.5)."""

from __future__ import annotations

from hankoflow import emails, errors, features, signals
from hankoflow import names as n
from hankoflow.actions.credential_onboarding import WebauthnGenerateCreationOptions
from hankoflow.conf import settings
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome, Skip
from hankoflow.engine import inputs as i
from hankoflow.services import audit, events, notifications, totp
from hankoflow.steps import account_of, enrolment_secret

# Hanko (v3) says otp_code_invalid here; elements 2.7.0 only has a text for passcode_invalid,
# which backend v2.7.0 sent (flow-api.md §0.1). One place decides for enrolment and login.
WRONG_OTP_CODE = errors.PASSCODE_INVALID


class ContinueToOtpSecretCreation(Action):
    name = n.ACTION_CONTINUE_TO_OTP_SECRET_CREATION
    description = "Create an OTP secret"

    def initialize(self, setup: ActionSetup) -> None:
        if not features.totp():
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        return ctx.continue_to(n.STATE_MFA_OTP_SECRET_CREATION)


class ContinueToSecurityKeyCreation(Action):
    name = n.ACTION_CONTINUE_TO_SECURITY_KEY_CREATION
    description = "Create a security key"

    def initialize(self, setup: ActionSetup) -> None:
        stash = setup.stash
        platform_only = settings.MFA.SECURITY_KEYS.AUTHENTICATOR_ATTACHMENT == "platform"
        if not (
            features.security_keys()
            and stash.get(n.STASH_SECURITY_KEY_ATTACHMENT_SUPPORTED)
            and stash.get(n.STASH_WEBAUTHN_AVAILABLE)
            and not (
                platform_only and not stash.get(n.STASH_WEBAUTHN_PLATFORM_AUTHENTICATOR_AVAILABLE)
            )
        ):
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        return ctx.continue_to(n.STATE_MFA_SECURITY_KEY_CREATION)


class SkipMfaCreation(Skip):
    def initialize(self, setup: ActionSetup) -> None:
        if not settings.MFA.OPTIONAL:
            setup.suspend()


class OtpCodeVerify(Action):
    """Prove the authenticator app works by entering its current code."""

    name = n.ACTION_OTP_CODE_VERIFY
    description = "Verify an OTP code"

    def initialize(self, setup: ActionSetup) -> None:
        if not features.totp():
            setup.suspend()
            return
        setup.add_input(i.string("otp_code", required=True))

    def execute(self, ctx: FlowContext) -> Outcome:
        step = totp.matching_step(enrolment_secret(ctx), str(ctx.input("otp_code", "")))
        if step is None:
            return ctx.input_error("otp_code", WRONG_OTP_CODE)
        ctx.stash.set(n.STASH_OTP_LAST_VALIDATED_STEP, step)
        ctx.stash.set(n.STASH_USER_HAS_OTP_SECRET, True)
        # Registration stores the secret with the account at success; login and profile now.
        if ctx.is_flow(n.FLOW_LOGIN, n.FLOW_PROFILE):
            account = account_of(ctx)
            if account is None:
                raise RuntimeError("TOTP enrolment without an account")
            secret = totp.save_secret(account, enrolment_secret(ctx), last_step=step)
            audit.record(
                audit.OTP_CREATED,
                env=ctx.env,
                account=account,
                details={"otp_secret": str(secret.id), "flow_id": ctx.flow_id},
            )
            events.credential_added(account, signals.CREDENTIAL_TOTP, str(secret.id), env=ctx.env)
            if ctx.is_flow(n.FLOW_PROFILE):
                notifications.notify(account, emails.MFA_CREATE, env=ctx.env)
        ctx.prevent_revert()
        return ctx.continue_to()


class WebauthnGenerateSecurityKeyCreationOptions(WebauthnGenerateCreationOptions):
    """The security-key variant: a non-discoverable, MFA-only credential (§4.6.4)."""

    description = "Get WebAuthn creation options to register a WebAuthn credential."
    mfa_only = True
