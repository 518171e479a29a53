"""Profile actions on third-party identities (flow-api.md §4.3.2 #21, #22, §4.3.3).

``connect_thirdparty_oauth_provider`` starts a sign-in at a provider the person has no identity
of, with the OAuth state bound to the session user; the callback attaches the identity to that
account (``services/thirdparty/identities.connect``) and hands back a one-time token, which the
profile's own ``thirdparty`` state redeems with its ``exchange_token`` before returning to
``profile_init``. ``disconnect_thirdparty_oauth_provider`` deletes one identity, never the last
way to sign in. Both are sensitive changes: re-authentication first when the session is old.
"""

from __future__ import annotations

from hankoflow import names as n
from hankoflow.actions.profile.reauthentication import reauthentication_required
from hankoflow.actions.thirdparty import provider_inputs, start_dance
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome
from hankoflow.engine import errors as engine_errors
from hankoflow.engine import inputs as i
from hankoflow.services import login_methods, ratelimit
from hankoflow.services.thirdparty import identities, tokens
from hankoflow.steps import lock_account, rate_limit_error, session_account

# Hanko declares no input for it, but its element sends the identity's id under this name.
IDENTITY_ID = "identity_id"


class ConnectThirdPartyOAuthProvider(Action):
    """Row #21: as ``thirdparty_oauth`` (§4.0.2.4), for a provider not yet connected."""

    name = n.ACTION_CONNECT_THIRDPARTY_OAUTH_PROVIDER
    description = "Connect a third party provider via OAuth."

    def initialize(self, setup: ActionSetup) -> None:
        account = session_account(setup)
        connectable = identities.connectable(account) if account is not None else []
        if not connectable:
            setup.suspend()
            return
        setup.add_input(*provider_inputs(connectable))

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(engine_errors.FORM_DATA_INVALID)
        account = session_account(ctx)
        if account is None:
            return ctx.error(engine_errors.OPERATION_NOT_PERMITTED)
        if (outcome := reauthentication_required(ctx)) is not None:
            return outcome
        return start_dance(ctx, user_id=str(account.id))


class DisconnectThirdPartyOAuthProvider(Action):
    """Row #22: delete one identity of the session user, under the account's lock."""

    name = n.ACTION_DISCONNECT_THIRDPARTY_OAUTH_PROVIDER
    description = "Disconnect a third party provider via OAuth."

    def initialize(self, setup: ActionSetup) -> None:
        # As Hanko: no input declared (its element sends ``identity_id`` all the same).
        account = session_account(setup)
        if account is None or not identities.enabled_of(account):
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        account = session_account(ctx)
        if account is None:
            return ctx.error(engine_errors.OPERATION_NOT_PERMITTED)
        identity_id = ctx.input(IDENTITY_ID)
        if identities.find(account, identity_id) is None:
            return ctx.error(engine_errors.FORM_DATA_INVALID)
        if (outcome := reauthentication_required(ctx)) is not None:
            return outcome
        account = lock_account(ctx, account)
        identity = identities.find(account, identity_id)
        if identity is None:  # a concurrent step disconnected it first
            return ctx.error(engine_errors.FORM_DATA_INVALID)
        counted = identity.provider_id in {i.provider_id for i in identities.enabled_of(account)}
        # Hanko: deletes it even when it is the last way in.
        if not login_methods.can_sign_in(account, without_identities=int(counted)):
            return ctx.error(engine_errors.OPERATION_NOT_PERMITTED)
        identities.disconnect(identity, env=ctx.env)
        return ctx.continue_to(n.STATE_PROFILE_INIT)


class ProfileExchangeToken(Action):
    """§4.3.3: the profile's ``exchange_token``: the token of the connect's callback, for the
    session user only; then back to ``profile_init``."""

    name = n.ACTION_EXCHANGE_TOKEN
    description = "Exchange a token for linking the identity to a user account."

    def initialize(self, setup: ActionSetup) -> None:
        setup.add_input(
            i.string("token", required=True, hidden=True),
            i.string("code_verifier", hidden=True),
        )

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(engine_errors.FORM_DATA_INVALID)
        key = ratelimit.token_key(ctx.env.ip if ctx.env else "")
        if limited := rate_limit_error(ctx, ratelimit.Bucket.TOKEN, key):
            return ctx.error(limited)
        account = session_account(ctx)
        if account is None:
            return ctx.error(engine_errors.OPERATION_NOT_PERMITTED)
        try:
            exchanged = tokens.consume(ctx.input("token", ""), ctx.input("code_verifier"))
        except tokens.VerifierMismatch:
            return ctx.error(engine_errors.FORM_DATA_INVALID)
        except tokens.TokenInvalid:
            # Hanko: technical_error (500). An unknown, used or expired token is the client's
            # mistake, so the state stays with 400 (a 5xx means we failed).
            return ctx.error(engine_errors.FORM_DATA_INVALID)
        if exchanged.account.pk != account.pk:
            return ctx.error(engine_errors.OPERATION_NOT_PERMITTED)
        # Hanko: attaches the identity here, and answers technical_error for one already
        # linked. Here the callback attached it (identities.connect) and refused an identity
        # already linked, so the token only confirms the connect for the same person.
        ctx.prevent_revert()
        return ctx.continue_to(n.STATE_PROFILE_INIT)
