"""``registration_init``: choose the identifiers of a new account (flow-api.md §4.2.2)."""

from __future__ import annotations

import re
import uuid

from hankoflow import errors, features
from hankoflow import names as n
from hankoflow.adapter import get_adapter
from hankoflow.conf import settings
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome
from hankoflow.engine import inputs as i
from hankoflow.services import accounts
from hankoflow.services.saml import dance as saml
from hankoflow.services.saml import providers as saml_providers
from hankoflow.steps import (
    can_use_passkeys,
    credential_onboarding_states,
    mfa_creation_state,
)

# Hanko's username rule (Go ``^\w+$`` on ASCII input).
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_]+$")


def acquires_email() -> bool:
    return settings.EMAIL.ENABLED and settings.EMAIL.ACQUIRE_ON_REGISTRATION


def acquires_username() -> bool:
    return settings.USERNAME.ENABLED and settings.USERNAME.ACQUIRE_ON_REGISTRATION


def username_input(*, required: bool) -> i.Input:
    return i.string(
        "username",
        required=required,
        min_length=settings.USERNAME.MIN_LENGTH,
        max_length=settings.USERNAME.MAX_LENGTH,
        trim_space=True,
        lower_case=True,
    )


class RegisterLoginIdentifier(Action):
    name = n.ACTION_REGISTER_LOGIN_IDENTIFIER
    description = "Enter an identifier to register."

    def initialize(self, setup: ActionSetup) -> None:
        if not settings.ACCOUNT.ALLOW_SIGNUP or not (acquires_email() or acquires_username()):
            setup.suspend()
            return
        if acquires_email():
            setup.add_input(
                i.email(
                    "email",
                    required=not settings.EMAIL.OPTIONAL,
                    max_length=settings.EMAIL.MAX_LENGTH,
                    trim_space=True,
                    lower_case=True,
                )
            )
        if acquires_username():
            setup.add_input(username_input(required=not settings.USERNAME.OPTIONAL))

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        email = ctx.input("email", "") if acquires_email() else ""
        username = ctx.input("username", "") if acquires_username() else ""
        if settings.EMAIL.OPTIONAL and settings.USERNAME.OPTIONAL and not (email or username):
            missing = errors.VALUE_INVALID.with_cause("either email or username must be provided")
            ctx.input_error("email", missing)
            return ctx.input_error("username", missing)
        # Before any lookup: a refusal must read the same for registered and new addresses.
        request = ctx.env.request if ctx.env else None
        if not get_adapter().is_signup_allowed(request, email or None, username or None):
            return ctx.error(errors.OPERATION_NOT_PERMITTED)

        if username:
            if not USERNAME_PATTERN.match(username):
                return ctx.input_error("username", errors.INVALID_USERNAME)
            if accounts.username_exists(username):
                return ctx.input_error("username", errors.USERNAME_ALREADY_EXISTS)
            ctx.stash.set(n.STASH_USERNAME, username)

        verify = settings.EMAIL.REQUIRE_VERIFICATION
        if email and (idp := saml_providers.for_email(email)):
            ctx.payload["redirect_url"] = saml.auth_url(idp.domain)  # SAML: the IdP signs up
            return ctx.continue_to(n.STATE_THIRDPARTY)
        if email:
            if accounts.email_exists(email):
                if not verify or settings.PRIVACY.SHOW_ACCOUNT_EXISTENCE_HINTS:
                    return ctx.input_error("email", errors.EMAIL_ALREADY_EXISTS)
                # Privacy mode: walk on as for a new address; the owner gets a notice instead
                # of a code, and the flow can never succeed (security-checks FL-12).
                ctx.stash.set(n.STASH_EMAIL, email)
                ctx.stash.set(n.STASH_PASSCODE_TEMPLATE, n.TEMPLATE_EMAIL_REGISTRATION_ATTEMPTED)
                return ctx.continue_to(n.STATE_PASSCODE_CONFIRMATION)
            ctx.stash.set(n.STASH_EMAIL, email)
            if verify:
                ctx.stash.set(n.STASH_PASSCODE_TEMPLATE, n.TEMPLATE_EMAIL_VERIFICATION)

        ctx.stash.set(n.STASH_USER_ID, str(uuid.uuid4()))  # the account is created at success
        states = []
        if email and verify:
            states.append(n.STATE_PASSCODE_CONFIRMATION)
        states += credential_onboarding_states(
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
