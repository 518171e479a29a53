"""Email passcodes: checking the code, sending it again."""

from __future__ import annotations

from hankoflow import errors, signals
from hankoflow import names as n
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome
from hankoflow.engine import inputs as i
from hankoflow.services import passcodes
from hankoflow.steps import (
    deliver_passcode,
    passcode_send_error,
    record_login_failure,
    schedule_mfa_creation,
)


class VerifyPasscode(Action):
    name = n.ACTION_VERIFY_PASSCODE
    description = "Enter a passcode."

    def initialize(self, setup: ActionSetup) -> None:
        setup.add_input(i.string("code", required=True))

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        # Only a code sent to the flow's current address counts: after ``back`` and a new address
        # whose send was rate limited, the sticky id still names the code of the old address.
        # Hanko: no passcode id answers 500 technical_error; we answer as for an unknown passcode
        # (``passcode_invalid``), after the same work as a real check.
        passcode_id = ctx.stash.get(n.STASH_PASSCODE_ID)
        if ctx.stash.get(n.STASH_PASSCODE_EMAIL) != ctx.stash.get(n.STASH_EMAIL):
            passcode_id = None
        result = passcodes.verify(passcode_id or "", str(ctx.input("code", "")), ip=ctx.env.ip)
        failure = {"login_method": n.LOGIN_METHOD_PASSCODE, "flow_id": ctx.flow_id}
        if ctx.is_flow(n.FLOW_PROFILE):
            # Not a sign-in: proving an address, or who one is before a sensitive change.
            reauthenticating = ctx.stash.get(n.STASH_REAUTHENTICATION_METHOD)
            failure["context"] = "reauthentication" if reauthenticating else "email_verification"
        if result.max_attempts_reached:
            record_login_failure(
                ctx,
                account=None,
                identifier=ctx.stash.get(n.STASH_EMAIL),
                method=signals.LOGIN_METHOD_PASSCODE,
                reason=signals.FAILURE_TOO_MANY_ATTEMPTS,
                error="passcode tries",
                details=failure,
            )
            return ctx.error(errors.PASSCODE_MAX_ATTEMPTS_REACHED)
        if not result.ok:
            record_login_failure(
                ctx,
                account=None,
                identifier=ctx.stash.get(n.STASH_EMAIL),
                method=signals.LOGIN_METHOD_PASSCODE,
                reason=signals.FAILURE_WRONG_PASSCODE,
                error="wrong passcode",
                details=failure,
            )
            return ctx.input_error("code", errors.PASSCODE_INVALID)
        if not ctx.stash.get(n.STASH_USER_ID):
            return ctx.error(errors.OPERATION_NOT_PERMITTED)  # a "…_attempted" notice: no account
        ctx.stash.set(n.STASH_EMAIL_VERIFIED, True)
        ctx.stash.set(n.STASH_USER_HAS_EMAILS, True)
        if ctx.is_flow(n.FLOW_REGISTRATION):
            ctx.stash.set(n.STASH_REGISTRATION_AMR_PASSCODE, True)
        ctx.prevent_revert()
        schedule_mfa_creation(ctx)
        return ctx.continue_to()


class ResendPasscode(Action):
    name = n.ACTION_RESEND_PASSCODE
    description = "Send the passcode email again."

    def execute(self, ctx: FlowContext) -> Outcome:
        email = ctx.stash.get(n.STASH_EMAIL)
        if not email or not ctx.stash.get(n.STASH_PASSCODE_TEMPLATE):
            raise RuntimeError("resend_passcode without an email or a template")
        if limited := passcode_send_error(ctx, email):
            return ctx.error(limited)
        deliver_passcode(ctx)
        return ctx.continue_to(n.STATE_PASSCODE_CONFIRMATION)
