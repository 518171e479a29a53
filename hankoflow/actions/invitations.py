"""``invited_registration_init``: redeem an invitation (beyond Hanko, issue 15).

The invitation's code and the invited address prove the address, as a verified passcode does at
sign-up; the person then chooses credentials as in ``registration`` (``credential_onboarding``,
``mfa_creation``). Nothing is written until ``success``, where ``AcceptInvitation`` consumes the
invitation and creates the account in one transaction. ``ACCOUNT.ALLOW_SIGNUP`` does not apply:
staff chose to invite this person.
"""

from __future__ import annotations

import uuid

from hankoflow import errors, features
from hankoflow import names as n
from hankoflow.conf import settings
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome
from hankoflow.engine import inputs as i
from hankoflow.services import accounts, invitations, ratelimit
from hankoflow.steps import (
    can_use_passkeys,
    credential_onboarding_states,
    mfa_creation_state,
    rate_limit_error,
)


def invitations_enabled() -> bool:
    """The ``invited_registration`` flow is offered (``INVITATIONS.ENABLED``)."""
    return bool(settings.INVITATIONS.ENABLED)


class RedeemInvitation(Action):
    name = n.ACTION_REDEEM_INVITATION
    description = "Enter the invitation code and the email address it was sent to."

    def initialize(self, setup: ActionSetup) -> None:
        if not invitations_enabled():
            setup.suspend()
            return
        setup.add_input(
            i.email(
                "email",
                required=True,
                max_length=settings.EMAIL.MAX_LENGTH,
                trim_space=True,
                lower_case=True,
            ),
            i.string("code", required=True, max_length=64, trim_space=True),
        )

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        # Guessing codes spends the budget of redeeming one-time tokens (exchange_token's).
        if limited := rate_limit_error(
            ctx, ratelimit.Bucket.TOKEN, ratelimit.token_key(ctx.env.ip)
        ):
            return ctx.error(limited)
        email = ctx.input("email", "")
        try:
            invitation = invitations.check(email, ctx.input("code", ""))
        except invitations.InvitationUnusable as refused:
            # A right code says why it cannot be used (its holder may know); a wrong one not.
            if refused.flow_error is not None:
                return ctx.error(refused.flow_error)
            return ctx.input_error("code", errors.INVITATION_INVALID)
        if accounts.email_exists(invitation.email):  # signed up meanwhile by another way
            return ctx.input_error("email", errors.EMAIL_ALREADY_EXISTS)
        ctx.stash.set(n.STASH_INVITATION_ID, str(invitation.pk))
        ctx.stash.set(n.STASH_EMAIL, invitation.email)
        ctx.stash.set(n.STASH_EMAIL_VERIFIED, True)
        ctx.stash.set(n.STASH_USER_HAS_EMAILS, True)
        # The emailed code is a one-time code: the session's amr says "otp" as after a passcode.
        ctx.stash.set(n.STASH_REGISTRATION_AMR_PASSCODE, True)
        ctx.stash.set(n.STASH_USER_ID, str(uuid.uuid4()))  # the account is created at success
        ctx.prevent_revert()
        states = credential_onboarding_states(
            passkeys=can_use_passkeys(ctx),
            passwords=features.passwords(),
            passkey_mode=settings.PASSKEY.ACQUIRE_ON_REGISTRATION,
            password_mode=settings.PASSWORD.ACQUIRE_ON_REGISTRATION,
            has_passkey=False,
            has_password=False,
        )
        if not states:
            mfa = mfa_creation_state(ctx)  # nothing else will ask for it later
            states += [mfa] if mfa else []
        return ctx.continue_to(*states, n.STATE_SUCCESS)
