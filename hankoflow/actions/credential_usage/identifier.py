"""Entering the login identifier, an email address or a username (§4.0.2.2), and the choice
of the login method that follows it."""

from __future__ import annotations

from hankoflow import errors, features, signals
from hankoflow import names as n
from hankoflow.actions.credential_usage.passkey import request_passkey
from hankoflow.conf import settings
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome
from hankoflow.engine import inputs as i
from hankoflow.engine.inputs import EMAIL_PATTERN
from hankoflow.services import accounts
from hankoflow.services.saml import dance as saml
from hankoflow.services.saml import providers as saml_providers
from hankoflow.steps import (
    account_of,
    record_login_failure,
    start_passcode_login,
    stash_identified,
)


class ContinueWithLoginIdentifier(Action):
    """Enter an email address or username (§4.0.2.2)."""

    name = n.ACTION_CONTINUE_WITH_LOGIN_IDENTIFIER
    description = "Enter an identifier to login."

    def initialize(self, setup: ActionSetup) -> None:
        by_email = features.email_login_identifier()
        by_username = features.username_login_identifier()
        can_finish = features.passwords() or features.passcode_login()
        can_finish = can_finish or (by_email and settings.SAML.ENABLED)
        if not (by_email or by_username) or not can_finish:
            setup.suspend()
            return
        identifier = {"required": True, "trim_space": True, "lower_case": True}
        if by_email and by_username:
            setup.add_input(i.string("identifier", max_length=255, **identifier))
        elif by_email:
            setup.add_input(
                i.email("email", min_length=3, max_length=settings.EMAIL.MAX_LENGTH, **identifier)
            )
        else:
            setup.add_input(
                i.string(
                    "username",
                    min_length=settings.USERNAME.MIN_LENGTH,
                    max_length=settings.USERNAME.MAX_LENGTH,
                    **identifier,
                )
            )

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        field = next(iter(ctx.inputs))
        value = ctx.input(field, "")
        as_email = field == "email" or (field == "identifier" and EMAIL_PATTERN.fullmatch(value))
        ctx.stash.set(n.STASH_USER_IDENTIFICATION, value)
        if not value:
            return ctx.input_error(field, errors.VALUE_MISSING)

        if as_email and (idp := saml_providers.for_email(value)):
            ctx.payload["redirect_url"] = saml.auth_url(idp.domain)  # SAML: the IdP signs in
            return ctx.continue_to(n.STATE_THIRDPARTY)

        # Only the id and the facts, in one query: an unknown address must cost what a known one
        # does (security-checks PC-08); the account itself is loaded by the steps that use it.
        if as_email:
            account = accounts.identify_by_email(value)
            if account is None and settings.PRIVACY.SHOW_ACCOUNT_EXISTENCE_HINTS:
                return ctx.input_error(field, errors.UNKNOWN_EMAIL)
            ctx.stash.set(n.STASH_EMAIL, value)
        else:
            account = accounts.identify_by_username(value)
            if account is None:  # Hanko reveals unknown usernames whatever the privacy setting
                record_login_failure(
                    ctx,
                    account=None,
                    identifier=value,
                    method=signals.LOGIN_METHOD_PASSWORD,
                    reason=signals.FAILURE_UNKNOWN_IDENTIFIER,
                    error="unknown username",
                )
                return ctx.input_error(field, errors.UNKNOWN_USERNAME)
            ctx.stash.set(n.STASH_USERNAME, value)

        stash_identified(ctx, account)
        facts = account.facts if account else None
        if facts and not as_email and facts.primary_email:
            ctx.stash.set(n.STASH_EMAIL, facts.primary_email)
        if facts and not as_email and not features.passwords() and not facts.primary_email:
            return ctx.error(errors.FLOW_DISCONTINUITY)

        if settings.PRIVACY.ONLY_SHOW_ACTUAL_LOGIN_METHODS:
            return self._actual_methods(ctx, facts)
        if features.passcode_login() and features.passwords():
            if as_email or (facts and facts.primary_email):
                return ctx.continue_to(n.STATE_LOGIN_METHOD_CHOOSER)
            return ctx.continue_to(n.STATE_LOGIN_PASSWORD)
        if features.passcode_login():
            return start_passcode_login(ctx)
        if features.passwords():
            return ctx.continue_to(n.STATE_LOGIN_PASSWORD)
        return ctx.error(errors.FLOW_DISCONTINUITY)

    @staticmethod
    def _actual_methods(ctx: FlowContext, facts: accounts.AccountFacts | None) -> Outcome:
        """Offer only the methods this user can really use (§4.0.2.2 step 7)."""
        by_passcode = bool(facts and features.passcode_login() and facts.primary_email)
        by_password = bool(facts and features.passwords() and facts.has_password)
        by_passkey = bool(facts and features.passkeys() and facts.has_passkey)
        if by_passcode + by_password + by_passkey > 1:
            return ctx.continue_to(n.STATE_LOGIN_METHOD_CHOOSER)
        if by_passcode:
            return start_passcode_login(ctx)
        if by_password:
            return ctx.continue_to(n.STATE_LOGIN_PASSWORD)
        if by_passkey:
            return request_passkey(ctx, account_of(ctx))
        return ctx.error(errors.FLOW_DISCONTINUITY)
