"""Actions of ``credential_onboarding``: add a passkey or a password after sign-up or sign-in
(flow-api.md §4.0.3)."""

from __future__ import annotations

from hankoflow import errors
from hankoflow import names as n
from hankoflow.conf import settings
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome, Skip
from hankoflow.engine import inputs as i
from hankoflow.engine.stash import Stash
from hankoflow.services import passwords, webauthn
from hankoflow.steps import account_of, can_use_passkeys, schedule_mfa_creation


def can_login_with_email(stash: Stash) -> bool:
    return bool(
        stash.get(n.STASH_EMAIL)
        and settings.EMAIL.ENABLED
        and settings.EMAIL.USE_FOR_AUTHENTICATION
        and settings.EMAIL.USE_AS_LOGIN_IDENTIFIER
    )


def acquisition_mode(setting: str, flow_name: str) -> str:
    """``always``/``conditional``/``never`` of PASSKEY or PASSWORD for this flow."""
    section = getattr(settings, setting)
    if flow_name == n.FLOW_LOGIN:
        return section.ACQUIRE_ON_LOGIN
    return section.ACQUIRE_ON_REGISTRATION


class ContinueToPasskeyRegistration(Action):
    name = n.ACTION_CONTINUE_TO_PASSKEY_REGISTRATION
    description = "Register a WebAuthn credential"

    def execute(self, ctx: FlowContext) -> Outcome:
        return ctx.continue_to(n.STATE_ONBOARDING_CREATE_PASSKEY)


class ContinueToPasswordRegistration(Action):
    name = n.ACTION_CONTINUE_TO_PASSWORD_REGISTRATION
    description = "Register a password credential"

    def execute(self, ctx: FlowContext) -> Outcome:
        return ctx.continue_to(n.STATE_PASSWORD_CREATION)


class SkipCredentialOnboarding(Skip):
    """Skip both credentials: only when one is optional and the user can sign in otherwise."""

    def initialize(self, setup: ActionSetup) -> None:
        signup = setup.is_flow(n.FLOW_REGISTRATION, n.FLOW_INVITED_REGISTRATION)
        signup_without_email_login = signup and not (
            settings.EMAIL.USE_FOR_AUTHENTICATION and setup.stash.get(n.STASH_EMAIL)
        )
        both_required = not settings.PASSWORD.OPTIONAL and not settings.PASSKEY.OPTIONAL
        if signup_without_email_login or both_required:
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        ctx.prevent_revert()
        schedule_mfa_creation(ctx)
        return ctx.continue_to()


class WebauthnGenerateCreationOptions(Action):
    """Ask the browser to create a passkey for the flow's user."""

    name = n.ACTION_WEBAUTHN_GENERATE_CREATION_OPTIONS
    description = "Get creation options to create a webauthn credential."
    mfa_only = False

    def initialize(self, setup: ActionSetup) -> None:
        if not setup.stash.get(n.STASH_WEBAUTHN_AVAILABLE):
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        user_id = ctx.stash.get(n.STASH_USER_ID)
        email = ctx.stash.get(n.STASH_EMAIL)
        username = ctx.stash.get(n.STASH_USERNAME)
        if not user_id or not (email or username):
            raise RuntimeError("creating a credential needs a user id and an email or username")
        account = account_of(ctx)
        existing = [c.id for c in webauthn.credentials_of(account)] if account else []
        existing += [c["id"] for c in ctx.stash.get(n.STASH_WEBAUTHN_CREDENTIALS, [])]
        options = webauthn.registration_options(
            user_id=user_id,
            user_name=email or username,
            user_display_name=username or email,
            mfa_only=self.mfa_only,
            exclude_credential_ids=existing,
            flow_id=ctx.flow_id,
        )
        ctx.stash.set(n.STASH_WEBAUTHN_SESSION_DATA_ID, options.challenge_id)
        ctx.stash.set(n.STASH_CREATE_MFA_ONLY_CREDENTIAL, self.mfa_only)
        ctx.payload["creation_options"] = options.options
        return ctx.continue_to(n.STATE_ONBOARDING_VERIFY_PASSKEY_ATTESTATION)


class SkipCredential(Skip):
    """Skip one credential unless it is required or the user would be left without a way in.

    Passkey and password onboarding mirror each other (flow-api.md §4.0.3): each names the
    credential it skips and the other one, which may be asked for next.
    """

    own: str  # settings section of the skipped credential: "PASSKEY" or "PASSWORD"
    other: str
    other_state: str
    other_done: str  # stash flag: the user already has the other credential

    def other_usable(self, ctx: FlowContext) -> bool:
        return True

    def initialize(self, setup: ActionSetup) -> None:
        stash = setup.stash
        prev = stash.prev_state
        email_login = can_login_with_email(stash)
        other_never = acquisition_mode(self.other, setup.flow_name) == "never"
        if (
            not getattr(settings, self.own).OPTIONAL
            or prev == n.STATE_CREDENTIAL_ONBOARDING_CHOOSER
            or (prev == self.other_state and not stash.get(self.other_done) and not email_login)
            or (
                prev in (n.STATE_PASSCODE_CONFIRMATION, n.STATE_REGISTRATION_INIT)
                and other_never
                and not email_login
            )
        ):
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        if (
            acquisition_mode(self.other, ctx.flow_name) == "conditional"
            and not ctx.stash.get(self.other_done)
            and self.other_usable(ctx)
        ):
            return ctx.continue_to(self.other_state)
        schedule_mfa_creation(ctx)
        return ctx.continue_to()


class SkipPasskeyCreation(SkipCredential):
    own, other = "PASSKEY", "PASSWORD"
    other_state = n.STATE_PASSWORD_CREATION
    other_done = n.STASH_USER_HAS_PASSWORD


class WebauthnVerifyAttestationResponse(Action):
    """Check the new credential; it waits in the stash until the account exists (§4.0.8)."""

    name = n.ACTION_WEBAUTHN_VERIFY_ATTESTATION_RESPONSE
    description = "Send the result which was generated by creating a webauthn credential."

    def initialize(self, setup: ActionSetup) -> None:
        if not setup.stash.get(n.STASH_WEBAUTHN_AVAILABLE):
            setup.suspend()
            return
        setup.add_input(i.json("public_key"))

    def execute(self, ctx: FlowContext) -> Outcome:
        challenge_id = ctx.stash.get(n.STASH_WEBAUTHN_SESSION_DATA_ID)
        if not challenge_id or not ctx.stash.get(n.STASH_USER_ID):
            raise RuntimeError("no WebAuthn registration was started in this flow")
        try:
            new = webauthn.verify_registration(
                challenge_id, ctx.input("public_key"), flow_id=ctx.flow_id
            )
        except webauthn.WebauthnInvalid:
            # Hanko: the flow moves on without the credential, with the error attached.
            ctx.set_flow_error(errors.PASSKEY_INVALID)
        else:
            credentials = ctx.stash.get(n.STASH_WEBAUTHN_CREDENTIALS, [])
            ctx.stash.set(n.STASH_WEBAUTHN_CREDENTIALS, [*credentials, new.to_stash()])
            ctx.stash.set(n.STASH_USER_HAS_WEBAUTHN_CREDENTIAL, True)
            if new.mfa_only:
                ctx.stash.set(n.STASH_USER_HAS_SECURITY_KEY, True)
            else:
                ctx.stash.set(n.STASH_USER_HAS_PASSKEY, True)
        ctx.prevent_revert()
        schedule_mfa_creation(ctx)
        return ctx.continue_to()


class RegisterPassword(Action):
    name = n.ACTION_REGISTER_PASSWORD
    description = "Submit a new password."

    def initialize(self, setup: ActionSetup) -> None:
        setup.add_input(
            i.password(
                "new_password",
                required=not settings.PASSWORD.OPTIONAL,
                min_length=settings.PASSWORD.MIN_LENGTH,
            )
        )

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        raw = ctx.input("new_password", "")
        problem = passwords.new_password_errors(
            raw,
            account=account_of(ctx),
            email=ctx.stash.get(n.STASH_EMAIL),
            username=ctx.stash.get(n.STASH_USERNAME),
        )
        if problem:
            return ctx.input_error("new_password", problem)
        # Only the hash is kept until the account exists (registration) or the step ends (login).
        ctx.stash.set(n.STASH_NEW_PASSWORD, passwords.hash_password(raw))
        ctx.stash.set(n.STASH_USER_HAS_PASSWORD, True)
        ctx.prevent_revert()
        schedule_mfa_creation(ctx)
        return ctx.continue_to()


class SkipPasswordCreation(SkipCredential):
    own, other = "PASSWORD", "PASSKEY"
    other_state = n.STATE_ONBOARDING_CREATE_PASSKEY
    other_done = n.STASH_USER_HAS_WEBAUTHN_CREDENTIAL

    def other_usable(self, ctx: FlowContext) -> bool:
        return can_use_passkeys(ctx)
