"""Re-authentication before a sensitive profile change (security-checks FL-11, PW-07; NIST SP
800-63B-4 §2 reauthentication, security-checks.md §1.2).

Hanko: its profile never asks (flow-api.md §4.3). Here a sensitive action calls
``reauthentication_required`` after its inputs validated and before any change; when the
session's last authentication is older than ``PROFILE.REAUTHENTICATION_MAX_AGE`` seconds (0: never,
as Hanko) the flow goes to one of Hanko's own login states, with Hanko's action and input names,
so ``<hanko-profile>`` renders it as it does in sign-in. The method is the strongest the person
has, each only when switched on:

1. ``login_passkey`` (request options for the person's own passkeys; the element's auto-step runs
   WebAuthn) when the browser reported WebAuthn and the person has a passkey, unless they went
   ``back`` from it earlier in this flow (no passkey on this device);
2. ``login_password`` when they have a password;
3. ``passcode_confirmation`` with a ``login`` passcode to the primary address
   (``EMAIL.USE_FOR_AUTHENTICATION``; ``hooks/reauthentication.py`` completes it).

NIST asks to re-authenticate at the session's assurance level: when the session's ``amr`` has a
second factor (``totp``, ``security_key``) and the person still has one, a password or a passcode
is followed by ``login_security_key`` (preferred) or ``login_otp``, as at sign-in. A passkey is
enough on its own, as at sign-in.

On success the session row is marked (``services.sessions.reauthentication``) and the flow
returns to ``profile_init`` without making the change: the person submits it again, now within
the window. Nothing is replayed, so no new password or other input waits in the stash. ``back``
returns to ``profile_init`` and changes nothing.
"""

from __future__ import annotations

from hankoflow import errors, features, signals
from hankoflow import names as n
from hankoflow.actions.mfa_creation import WRONG_OTP_CODE
from hankoflow.conf import settings
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome
from hankoflow.engine import inputs as i
from hankoflow.services import accounts, passwords, ratelimit, totp, webauthn
from hankoflow.services.sessions import reauthentication as session_reauthentication
from hankoflow.steps import account_of, can_use_passkeys, rate_limit_error, record_login_failure

# The session's ``amr`` values that name a second factor (flow-api.md §4.5.1).
_SECOND_FACTOR_AMR = frozenset({n.MFA_METHOD_TOTP, n.MFA_METHOD_SECURITY_KEY})
# Set by ``back`` from the passkey prompt (the element goes back when WebAuthn fails, e.g. no
# passkey on this device): later re-authentications of this flow ask for the next method.
# Sticky: it survives the revert that ``back`` is.
_PASSKEY_DECLINED = "sticky.reauthentication.passkey_declined"


def reauthentication_required(ctx: FlowContext) -> Outcome | None:
    """``None`` when the session proved who it is recently enough for a sensitive change;
    otherwise the outcome that asks the person to prove it again first."""
    info = ctx.env.session if ctx.env is not None else None
    if info is None:
        raise RuntimeError("a profile step without the request's session")
    if not session_reauthentication.reauthentication_due(info.session):
        return None
    account = account_of(ctx)
    if account is None:
        raise RuntimeError("a profile step without the session's account")
    facts = accounts.facts(account)
    multi_factor = _multi_factor(info.claims)
    ctx.stash.set(n.STASH_REAUTHENTICATION_SECOND_FACTOR, [])
    if facts.has_passkey and can_use_passkeys(ctx) and not ctx.stash.get(_PASSKEY_DECLINED):
        ctx.stash.set(n.STASH_REAUTHENTICATION_METHOD, n.LOGIN_METHOD_PASSKEY)
        # A passkey stands for two factors only with user verification (NIST: the session's AAL).
        _request_options(ctx, account, second_factor=False, verify_user=multi_factor)
        return ctx.continue_to(n.STATE_LOGIN_PASSKEY, n.STATE_PROFILE_INIT)
    if multi_factor:
        ctx.stash.set(n.STASH_REAUTHENTICATION_SECOND_FACTOR, _second_factors(ctx, facts))
    if facts.has_password and features.passwords():
        ctx.stash.set(n.STASH_REAUTHENTICATION_METHOD, n.LOGIN_METHOD_PASSWORD)
        return ctx.continue_to(n.STATE_LOGIN_PASSWORD, n.STATE_PROFILE_INIT)
    if facts.primary_email and features.passcode_login():
        ctx.stash.set(n.STASH_REAUTHENTICATION_METHOD, n.LOGIN_METHOD_PASSCODE)
        ctx.stash.set(n.STASH_EMAIL, facts.primary_email)
        ctx.stash.set(n.STASH_PASSCODE_TEMPLATE, n.TEMPLATE_LOGIN)
        # Only this passcode may complete it: not a verification from earlier in the flow.
        ctx.stash.set(n.STASH_EMAIL_VERIFIED, False)
        return ctx.continue_to(n.STATE_PASSCODE_CONFIRMATION, n.STATE_PROFILE_INIT)
    # No method this browser and these settings allow: refuse rather than skip the check.
    return ctx.error(errors.OPERATION_NOT_PERMITTED)


def _multi_factor(claims: dict[str, object]) -> bool:
    """Whether the session was signed in with a second factor (its ``amr``)."""
    amr = claims.get("amr") or []
    return isinstance(amr, list) and bool(_SECOND_FACTOR_AMR.intersection(amr))


def _second_factors(ctx: FlowContext, facts: accounts.AccountFacts) -> list[str]:
    """The second-factor states a first factor must be followed by (the preferred first); none
    when the second factor the session used is gone (the first is then all there is)."""
    states = []
    # Any WebAuthn credential serves, as at sign-in; not a passkey declined in this flow.
    usable = facts.has_security_key or (facts.has_passkey and not ctx.stash.get(_PASSKEY_DECLINED))
    if features.security_keys() and ctx.stash.get(n.STASH_WEBAUTHN_AVAILABLE) and usable:
        states.append(n.STATE_LOGIN_SECURITY_KEY)
    if features.totp() and facts.has_otp_secret:
        states.append(n.STATE_LOGIN_OTP)
    return states


def _request_options(
    ctx: FlowContext, account: accounts.Account, *, second_factor: bool, verify_user: bool = False
) -> None:
    """A fresh WebAuthn challenge for the person's own credentials (passkeys, or any WebAuthn
    credential as a second factor) into the stash and the payload; ``verify_user`` requires
    user verification whatever the settings say."""
    if second_factor:
        allowed = webauthn.credentials_of(account)
        verification = settings.MFA.SECURITY_KEYS.USER_VERIFICATION
    else:
        allowed = webauthn.credentials_of(account, mfa_only=False)
        verification = settings.PASSKEY.USER_VERIFICATION
    if verify_user:
        verification = "required"
    options = webauthn.authentication_options(
        user_id=str(account.id),
        allow_credential_ids=[c.id for c in allowed],
        user_verification=verification,
        mfa=second_factor,
        flow_id=ctx.flow_id,
    )
    ctx.stash.set(n.STASH_WEBAUTHN_SESSION_DATA_ID, options.challenge_id)
    ctx.payload["request_options"] = options.options


def first_factor_done(ctx: FlowContext) -> Outcome:
    """After the first factor: the second one when the session had one, else done."""
    second_factors = ctx.stash.get(n.STASH_REAUTHENTICATION_SECOND_FACTOR) or []
    ctx.prevent_revert()
    if second_factors:
        return ctx.continue_to(second_factors[0])
    return completed(ctx)


def completed(ctx: FlowContext) -> Outcome:
    """Mark the session re-authenticated and return to ``profile_init`` (scheduled)."""
    session_reauthentication.mark_reauthenticated(
        ctx.env.session.session,
        env=ctx.env,
        details={
            "login_method": ctx.stash.get(n.STASH_REAUTHENTICATION_METHOD),
            "flow_id": ctx.flow_id,
        },
    )
    _forget(ctx)
    ctx.prevent_revert()
    return ctx.continue_to()


def _forget(ctx: FlowContext) -> None:
    ctx.stash.delete(n.STASH_REAUTHENTICATION_METHOD)
    ctx.stash.delete(n.STASH_REAUTHENTICATION_SECOND_FACTOR)
    ctx.stash.delete(n.STASH_WEBAUTHN_SESSION_DATA_ID)


def _account(ctx: FlowContext) -> accounts.Account:
    account = account_of(ctx)
    if account is None:
        raise RuntimeError("re-authentication without the session's account")
    return account


def _asked(setup: ActionSetup, *methods: str) -> bool:
    """Whether this re-authentication asks for one of ``methods`` (the login states are
    registered in the profile flow but reached only through ``reauthentication_required``)."""
    return setup.stash.get(n.STASH_REAUTHENTICATION_METHOD) in methods


class ReauthPasswordLogin(Action):
    """``password_login`` in ``login_password``: the checks of a password sign-in (per-account
    attempt budget, per-IP limit; a wrong password is the sign-in's field error)."""

    name = n.ACTION_PASSWORD_LOGIN
    description = "Login with a password."

    def initialize(self, setup: ActionSetup) -> None:
        if not (_asked(setup, n.LOGIN_METHOD_PASSWORD) and features.passwords()):
            setup.suspend()
            return
        setup.add_input(i.password("password", required=True))

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        account = _account(ctx)
        key = ratelimit.password_key(ctx.env.ip, str(account.id))
        if limited := rate_limit_error(ctx, ratelimit.Bucket.PASSWORD, key):
            return ctx.error(limited)
        check = passwords.verify_login(
            account, ctx.input("password", ""), identifier=str(account.id), ip=ctx.env.ip
        )
        if not check.ok:
            record_login_failure(
                ctx,
                account=account,
                identifier=None,
                method=signals.LOGIN_METHOD_PASSWORD,
                reason=signals.FAILURE_TOO_MANY_ATTEMPTS
                if check.retry_after
                else signals.FAILURE_WRONG_PASSWORD,
                error="password attempts refused" if check.retry_after else "wrong password",
                details=_details(ctx, n.LOGIN_METHOD_PASSWORD),
            )
        if check.retry_after:
            ctx.payload["retry_after"] = check.retry_after
            return ctx.error(errors.RATE_LIMIT_EXCEEDED)
        if not check.ok:
            return ctx.input_error("password", errors.VALUE_INVALID)
        return first_factor_done(ctx)


class ReauthWebauthnVerifyAssertionResponse(Action):
    """``webauthn_verify_assertion_response`` in ``login_passkey``: a passkey (first factor) or
    any WebAuthn credential (second factor) of the session's own account."""

    name = n.ACTION_WEBAUTHN_VERIFY_ASSERTION_RESPONSE
    description = "Send the result which was generated by using a webauthn credential."

    def initialize(self, setup: ActionSetup) -> None:
        webauthn_available = setup.stash.get(n.STASH_WEBAUTHN_AVAILABLE)
        if not (
            _asked(setup, n.LOGIN_METHOD_PASSKEY, n.MFA_METHOD_SECURITY_KEY) and webauthn_available
        ):
            setup.suspend()
            return
        setup.add_input(i.json("assertion_response", required=True))

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        account = _account(ctx)
        second_factor = ctx.stash.get(n.STASH_REAUTHENTICATION_METHOD) == n.MFA_METHOD_SECURITY_KEY
        problem: str | None = None
        try:
            # The challenge names the session's account: another user's credential is refused.
            assertion = webauthn.verify_authentication(
                ctx.stash.get(n.STASH_WEBAUTHN_SESSION_DATA_ID) or "",
                ctx.input("assertion_response"),
                flow_id=ctx.flow_id,
                env=ctx.env,
            )
            if assertion.account.id != account.id:
                problem = "credential of another user"
        except webauthn.WebauthnInvalid as invalid:
            problem = str(invalid)
        if problem is not None:
            method = n.MFA_METHOD_SECURITY_KEY if second_factor else n.LOGIN_METHOD_PASSKEY
            record_login_failure(
                ctx,
                account=account,
                identifier=None,
                method=signals.LOGIN_METHOD_SECURITY_KEY
                if second_factor
                else signals.LOGIN_METHOD_PASSKEY,
                reason=signals.FAILURE_INVALID_PASSKEY,
                error=problem,
                details=_details(ctx, method),
            )
            # Stay, with a fresh challenge: the element's auto-step asks again, or goes back.
            verify_user = not second_factor and _multi_factor(ctx.env.session.claims)
            _request_options(ctx, account, second_factor=second_factor, verify_user=verify_user)
            ctx.set_flow_error(errors.PASSKEY_INVALID)
            return ctx.continue_to(n.STATE_LOGIN_PASSKEY)
        if second_factor:
            return completed(ctx)
        return first_factor_done(ctx)


class ReauthWebauthnGenerateRequestOptions(Action):
    """``webauthn_generate_request_options`` in ``login_security_key``: ask for one of the
    person's WebAuthn credentials as the second factor (then ``login_passkey``)."""

    name = n.ACTION_WEBAUTHN_GENERATE_REQUEST_OPTIONS
    description = "Get webauthn request options in order to sign in with a webauthn credential."

    def initialize(self, setup: ActionSetup) -> None:
        if not _second_factor_offered(setup, n.STATE_LOGIN_SECURITY_KEY):
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        ctx.stash.set(n.STASH_REAUTHENTICATION_METHOD, n.MFA_METHOD_SECURITY_KEY)
        _request_options(ctx, _account(ctx), second_factor=True)
        return ctx.continue_to(n.STATE_LOGIN_PASSKEY)


class ReauthOtpCodeValidate(Action):
    """``otp_code_validate`` in ``login_otp``: the authenticator app's code, checked as at
    sign-in (per-IP limit, per-account budget, each time step once)."""

    name = n.ACTION_OTP_CODE_VALIDATE
    description = "Validates the provided code."

    def initialize(self, setup: ActionSetup) -> None:
        if not _second_factor_offered(setup, n.STATE_LOGIN_OTP):
            setup.suspend()
            return
        setup.add_input(i.string("otp_code", required=True))

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        account = _account(ctx)
        key = ratelimit.otp_key(ctx.env.ip, str(account.id))
        if limited := rate_limit_error(ctx, ratelimit.Bucket.OTP, key):
            return ctx.error(limited)
        result = totp.verify_login(account, str(ctx.input("otp_code", "")), ip=ctx.env.ip)
        if not result.ok:
            record_login_failure(
                ctx,
                account=account,
                identifier=None,
                method=signals.LOGIN_METHOD_TOTP,
                reason=signals.FAILURE_WRONG_OTP_CODE,
                error="replayed TOTP code" if result.replayed else "wrong TOTP code",
                details=_details(ctx, n.MFA_METHOD_TOTP),
            )
            return ctx.input_error("otp_code", WRONG_OTP_CODE)
        return completed(ctx)


class ReauthContinueToLoginOtp(Action):
    name = n.ACTION_CONTINUE_TO_LOGIN_OTP
    description = "Continues the flow to the OTP login."

    def initialize(self, setup: ActionSetup) -> None:
        if not _second_factor_offered(setup, n.STATE_LOGIN_OTP):
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        return ctx.continue_to(n.STATE_LOGIN_OTP)


class ReauthContinueToLoginSecurityKey(Action):
    name = n.ACTION_CONTINUE_TO_LOGIN_SECURITY_KEY
    description = "Continues the flow to the security key login."

    def initialize(self, setup: ActionSetup) -> None:
        if not _second_factor_offered(setup, n.STATE_LOGIN_SECURITY_KEY):
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        return ctx.continue_to(n.STATE_LOGIN_SECURITY_KEY)


def _second_factor_offered(setup: ActionSetup, state: str) -> bool:
    """Whether the second factor of ``state`` is one this re-authentication may use (the states
    are reached only after the first factor)."""
    return state in (setup.stash.get(n.STASH_REAUTHENTICATION_SECOND_FACTOR) or [])


class ReauthBack(Action):
    """``back``: return to ``profile_init`` without the change (in every re-authentication
    state; Hanko's ``login_otp`` and ``login_security_key`` have none, its profile never
    reaches them)."""

    name = "back"
    description = "Navigate one step back."

    def execute(self, ctx: FlowContext) -> Outcome:
        history = ctx.stash.history
        if ctx.stash.get(n.STASH_REAUTHENTICATION_METHOD) == n.LOGIN_METHOD_PASSKEY:
            ctx.stash.set(_PASSKEY_DECLINED, True)
        if ctx.stash.can_revert and history[-1].state == n.STATE_PROFILE_INIT:
            return ctx.revert()  # the stash as it was before the sensitive action
        _forget(ctx)
        return ctx.continue_to()  # after the first factor: the scheduled profile_init


def _details(ctx: FlowContext, method: str) -> dict[str, object]:
    return {
        "context": session_reauthentication.REAUTHENTICATION_CONTEXT,
        "login_method": method,
        "flow_id": ctx.flow_id,
    }
