"""Actions of ``mfa_usage``: the second factor at login (flow-api.md §4.0.6)."""

from __future__ import annotations

from hankoflow import errors, features, signals
from hankoflow import names as n
from hankoflow.actions.mfa_creation import WRONG_OTP_CODE
from hankoflow.conf import settings
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome
from hankoflow.engine import inputs as i
from hankoflow.services import ratelimit, totp, webauthn
from hankoflow.steps import account_of, rate_limit_error, record_login_failure


class WebauthnGenerateSecurityKeyRequestOptions(Action):
    """Ask for any of the user's WebAuthn credentials as the second factor."""

    name = n.ACTION_WEBAUTHN_GENERATE_REQUEST_OPTIONS
    description = "Get webauthn request options in order to sign in with a webauthn credential."

    def initialize(self, setup: ActionSetup) -> None:
        if not setup.stash.get(n.STASH_WEBAUTHN_AVAILABLE):
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        account = account_of(ctx)
        if account is None:
            raise RuntimeError("second factor requested without an account")
        options = webauthn.authentication_options(
            user_id=str(account.id),
            allow_credential_ids=[c.id for c in webauthn.credentials_of(account)],
            user_verification=settings.MFA.SECURITY_KEYS.USER_VERIFICATION,
            mfa=True,
            flow_id=ctx.flow_id,
        )
        ctx.stash.set(n.STASH_WEBAUTHN_SESSION_DATA_ID, options.challenge_id)
        ctx.stash.set(n.STASH_MFA_METHOD, n.MFA_METHOD_SECURITY_KEY)
        ctx.payload["request_options"] = options.options
        return ctx.continue_to(n.STATE_LOGIN_PASSKEY)


class ContinueToLoginOtp(Action):
    name = n.ACTION_CONTINUE_TO_LOGIN_OTP
    description = "Continues the flow to the OTP login."

    def initialize(self, setup: ActionSetup) -> None:
        if not (features.totp() and setup.stash.get(n.STASH_USER_HAS_OTP_SECRET)):
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        return ctx.continue_to(n.STATE_LOGIN_OTP)


class OtpCodeValidate(Action):
    """Check the authenticator app's code; each time step is accepted once (TO-04)."""

    name = n.ACTION_OTP_CODE_VALIDATE
    description = "Validates the provided code."

    def initialize(self, setup: ActionSetup) -> None:
        setup.add_input(i.string("otp_code", required=True))

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        account = account_of(ctx)
        if account is None:
            raise RuntimeError("OTP login without an account")
        key = ratelimit.otp_key(ctx.env.ip, str(account.id))
        if limited := rate_limit_error(ctx, ratelimit.Bucket.OTP, key):
            return ctx.error(limited)
        result = totp.verify_login(account, str(ctx.input("otp_code", "")), ip=ctx.env.ip)
        if not result.ok:
            record_login_failure(
                ctx,
                account=account,
                identifier=ctx.stash.get(n.STASH_USER_IDENTIFICATION),
                method=signals.LOGIN_METHOD_TOTP,
                reason=signals.FAILURE_WRONG_OTP_CODE,
                error="replayed TOTP code" if result.replayed else "wrong TOTP code",
                details={"mfa_method": n.MFA_METHOD_TOTP, "flow_id": ctx.flow_id},
            )
            return ctx.input_error("otp_code", WRONG_OTP_CODE)
        ctx.stash.set(n.STASH_MFA_METHOD, n.MFA_METHOD_TOTP)
        ctx.prevent_revert()
        return ctx.continue_to()


class ContinueToLoginSecurityKey(Action):
    name = n.ACTION_CONTINUE_TO_LOGIN_SECURITY_KEY
    description = "Continues the flow to the security key login."

    def initialize(self, setup: ActionSetup) -> None:
        stash = setup.stash
        if not (
            features.security_keys()
            and stash.get(n.STASH_USER_HAS_WEBAUTHN_CREDENTIAL)
            and stash.get(n.STASH_SECURITY_KEY_ATTACHMENT_SUPPORTED)
        ):
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        return ctx.continue_to(n.STATE_LOGIN_SECURITY_KEY)
