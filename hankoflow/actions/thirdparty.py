"""Third-party sign-in in the login, registration and token_exchange flows: ``thirdparty_oauth``
starts it (flow-api.md §4.0.2.4), ``exchange_token`` finishes it with the one-time token the
callback handed to the browser (§4.0.2.10)."""

from __future__ import annotations

from hankoflow import errors
from hankoflow import names as n
from hankoflow.conf import settings
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome
from hankoflow.engine import inputs as i
from hankoflow.services import ratelimit
from hankoflow.services.thirdparty import dance, providers, tokens
from hankoflow.services.thirdparty.state import StateCookie
from hankoflow.steps import (
    device_trusted,
    rate_limit_error,
    second_factor_state,
    stash_account_facts,
)


class ThirdPartyOAuth(Action):
    """Send the browser to a provider: answers ``thirdparty`` with ``payload.redirect_url``."""

    name = n.ACTION_THIRDPARTY_OAUTH
    description = "Sign up/sign in with a third party provider via OAuth."

    def initialize(self, setup: ActionSetup) -> None:
        enabled = providers.enabled()
        if not enabled:
            setup.suspend()
            return
        setup.add_input(*provider_inputs(enabled))

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        return start_dance(ctx)


def provider_inputs(offered: list[providers.Provider]) -> tuple[i.Input, ...]:
    """The inputs of an action that sends the browser to one of the ``offered`` providers."""
    return (
        i.string("redirect_to", required=True, hidden=True),
        i.string(
            "provider",
            required=True,
            hidden=True,
            allowed_values=tuple(i.AllowedValue(p.id, p.display_name) for p in offered),
        ),
        i.string("code_verifier", hidden=True),
    )


def start_dance(ctx: FlowContext, *, user_id: str = "") -> Outcome:
    """Begin the sign-in at the chosen provider (``user_id``: connect it to that account):
    ``thirdparty`` with ``payload.redirect_url``, the state cookie set."""
    try:
        started = dance.start(
            ctx.input("provider", ""),
            ctx.input("redirect_to", ""),
            ctx.input("code_verifier", "") or "",
            ctx.env.request if ctx.env else None,
            user_id=user_id,
        )
    except dance.StartRefused as refused:
        return ctx.error(errors.TECHNICAL if refused.technical else errors.FORM_DATA_INVALID)
    ctx.effects.add(StateCookie(started.sealed_state))
    ctx.payload["redirect_url"] = started.authorization_url
    return ctx.continue_to(n.STATE_THIRDPARTY)


class ExchangeToken(Action):
    """Redeem the callback's one-time token: the flow now knows the account (§4.0.2.10)."""

    name = n.ACTION_EXCHANGE_TOKEN
    description = "Exchange a one time token."

    def initialize(self, setup: ActionSetup) -> None:
        setup.add_input(
            i.string("token", required=True, hidden=True),
            i.string("code_verifier", hidden=True),
        )

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        key = ratelimit.token_key(ctx.env.ip if ctx.env else "")
        if limited := rate_limit_error(ctx, ratelimit.Bucket.TOKEN, key):
            return ctx.error(limited)
        try:
            exchanged = tokens.consume(ctx.input("token", ""), ctx.input("code_verifier"))
        except tokens.VerifierMismatch:
            return ctx.error(errors.FORM_DATA_INVALID)
        except tokens.TokenInvalid:
            # Hanko: technical_error (500). An unknown, used or expired token is the client's
            # mistake, so the state stays with 400 (a 5xx means we failed).
            return ctx.error(errors.FORM_DATA_INVALID)
        facts = stash_account_facts(ctx, exchanged.account)
        ctx.stash.set(n.STASH_SKIP_USER_CREATION, True)
        provider_id = exchanged.identity.provider_id if exchanged.identity else ""
        states = _follow_up_states(ctx, exchanged, facts)
        ctx.stash.set(n.STASH_LOGIN_METHOD, n.LOGIN_METHOD_THIRD_PARTY)
        ctx.stash.set(n.STASH_THIRD_PARTY_PROVIDER, provider_id)
        if ctx.is_flow(n.FLOW_REGISTRATION):
            ctx.stash.set(n.STASH_REGISTRATION_AMR_THIRD_PARTY, True)
            ctx.stash.set(n.STASH_REGISTRATION_AMR_THIRD_PARTY_PROVIDER, provider_id)
        # Hanko: signs the account in without its second factor; an enrolled one is asked for
        # first, as after a password (security-checks FL-08, OA-05).
        second = second_factor_state(ctx, trusted=device_trusted(ctx))
        if second and not ctx.is_flow(n.FLOW_LOGIN):
            # Only the login flow has the MFA states: elsewhere such an account signs in there.
            ctx.set_flow_error(errors.OPERATION_NOT_PERMITTED)
            second = n.STATE_ERROR
        if second:
            states = [second] if second == n.STATE_ERROR else [second, *states]
        ctx.prevent_revert()
        return ctx.continue_to(*states)


def _follow_up_states(ctx: FlowContext, exchanged: tokens.Exchanged, facts) -> list[str]:
    """Email verification, missing identifiers, then ``success`` (§4.0.2.10 step 5)."""
    states = []
    identity = exchanged.identity
    if settings.EMAIL.REQUIRE_VERIFICATION and identity is not None and identity.email:
        row = exchanged.account.emails.filter(address=identity.email).first()
        if row is not None and not row.is_verified:
            ctx.stash.set(n.STASH_EMAIL, identity.email)
            ctx.stash.set(n.STASH_PASSCODE_TEMPLATE, n.TEMPLATE_EMAIL_VERIFICATION)
            states.append(n.STATE_PASSCODE_CONFIRMATION)
    created = exchanged.user_created
    email, username = settings.EMAIL, settings.USERNAME
    if (
        email.ENABLED
        and not facts.has_emails
        and (email.ACQUIRE_ON_REGISTRATION if created else email.ACQUIRE_ON_LOGIN)
    ):
        states.append(n.STATE_ONBOARDING_EMAIL)
    if (
        username.ENABLED
        and not facts.has_username
        and (username.ACQUIRE_ON_REGISTRATION if created else username.ACQUIRE_ON_LOGIN)
    ):
        states.append(n.STATE_ONBOARDING_USERNAME)
    states.append(n.STATE_SUCCESS)
    return states
