"""Actions of the ``credential_usage`` sub-flow: how a user proves who they are (§4.0.2).

Identifiers, the login method chooser, password login and recovery, email passcodes and
passkeys.
"""

from __future__ import annotations

from hankoflow import errors, features, signals
from hankoflow import names as n
from hankoflow.conf import settings
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome
from hankoflow.engine import inputs as i
from hankoflow.engine.inputs import EMAIL_PATTERN
from hankoflow.services import (
    accounts,
    audit,
    events,
    passcodes,
    passwords,
    ratelimit,
    sessions,
    webauthn,
)
from hankoflow.steps import (
    account_of,
    deliver_passcode,
    rate_limit_error,
    schedule_mfa_creation,
    start_passcode_login,
    stash_account_facts,
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
                audit.record(audit.LOGIN_FAILURE, env=ctx.env, error="unknown username")
                events.login_failed(
                    account=None,
                    identifier=value,
                    method=signals.LOGIN_METHOD_PASSWORD,
                    reason=signals.FAILURE_UNKNOWN_IDENTIFIER,
                    env=ctx.env,
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


class ContinueToPasswordLogin(Action):
    name = n.ACTION_CONTINUE_TO_PASSWORD_LOGIN
    description = "Continue to the password login."

    def initialize(self, setup: ActionSetup) -> None:
        if settings.PRIVACY.ONLY_SHOW_ACTUAL_LOGIN_METHODS and not (
            setup.stash.get(n.STASH_USER_HAS_PASSWORD) and features.passwords()
        ):
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        return ctx.continue_to(n.STATE_LOGIN_PASSWORD)


class ContinueToPasscodeConfirmation(Action):
    name = n.ACTION_CONTINUE_TO_PASSCODE_CONFIRMATION
    description = "Send a login passcode code via email."

    def initialize(self, setup: ActionSetup) -> None:
        if settings.PRIVACY.ONLY_SHOW_ACTUAL_LOGIN_METHODS and not (
            setup.stash.get(n.STASH_USER_HAS_EMAILS) and features.passcode_login()
        ):
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        return start_passcode_login(ctx)


class PasswordLogin(Action):
    """Check the password; every failure looks and costs the same (security-checks PW-04/05), and
    the account's attempt budget bounds the guesses (PW-06)."""

    name = n.ACTION_PASSWORD_LOGIN
    description = "Login with a password."

    def initialize(self, setup: ActionSetup) -> None:
        if not features.passwords():
            setup.suspend()
            return
        setup.add_input(i.password("password", required=True))

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        identification = ctx.stash.get(n.STASH_USER_IDENTIFICATION, "")
        key = ratelimit.password_key(ctx.env.ip, identification)
        if limited := rate_limit_error(ctx, ratelimit.Bucket.PASSWORD, key):
            return ctx.error(limited)
        account = _account_by_identifier(ctx)
        check = passwords.verify_login(
            account, ctx.input("password", ""), identifier=identification, ip=ctx.env.ip
        )
        if not check.ok:
            audit.record(
                audit.LOGIN_FAILURE,
                env=ctx.env,
                account=account,
                error="password attempts refused" if check.retry_after else "wrong password",
                details={"login_method": n.LOGIN_METHOD_PASSWORD, "flow_id": ctx.flow_id},
            )
            events.login_failed(
                account=account,
                identifier=identification,
                method=signals.LOGIN_METHOD_PASSWORD,
                reason=signals.FAILURE_TOO_MANY_ATTEMPTS
                if check.retry_after
                else signals.FAILURE_WRONG_PASSWORD,
                env=ctx.env,
            )
        if check.retry_after:
            # Hanko: only its per-IP limit answers this; the account's attempt budget does too.
            ctx.payload["retry_after"] = check.retry_after
            return ctx.error(errors.RATE_LIMIT_EXCEEDED)
        if not check.ok:
            return ctx.input_error("password", errors.VALUE_INVALID)
        stash_account_facts(ctx, account)
        ctx.stash.set(n.STASH_LOGIN_METHOD, n.LOGIN_METHOD_PASSWORD)
        ctx.prevent_revert()
        schedule_mfa_creation(ctx)
        return ctx.continue_to()


def _account_by_identifier(ctx: FlowContext) -> accounts.Account | None:
    email = ctx.stash.get(n.STASH_EMAIL)
    if email:
        return accounts.find_by_email(email)
    username = ctx.stash.get(n.STASH_USERNAME)
    return accounts.find_by_username(username) if username else None


class ContinueToPasscodeConfirmationRecovery(Action):
    name = n.ACTION_CONTINUE_TO_PASSCODE_CONFIRMATION_RECOVERY
    description = "Send a recovery passcode code via email."

    def initialize(self, setup: ActionSetup) -> None:
        if not (settings.PASSWORD.RECOVERY and setup.stash.get(n.STASH_EMAIL)):
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        known = bool(ctx.stash.get(n.STASH_USER_ID))
        ctx.stash.set(n.STASH_LOGIN_METHOD, n.LOGIN_METHOD_PASSWORD)
        ctx.stash.set(
            n.STASH_PASSCODE_TEMPLATE,
            n.TEMPLATE_RECOVERY if known else n.TEMPLATE_EMAIL_LOGIN_ATTEMPTED,
        )
        ctx.stash.set(n.STASH_PW_RECOVERY_PENDING, True)
        return ctx.continue_to(n.STATE_PASSCODE_CONFIRMATION)


class PasswordRecovery(Action):
    """Set a new password after a recovery passcode (§4.0.2.7)."""

    name = n.ACTION_PASSWORD_RECOVERY
    description = "Submit a new password."

    def initialize(self, setup: ActionSetup) -> None:
        if not features.passwords():
            setup.suspend()
            return
        setup.add_input(
            i.password(
                "new_password",
                required=True,
                min_length=settings.PASSWORD.MIN_LENGTH,
                max_length=72,
            )
        )

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        account = account_of(ctx)
        if account is None:
            return ctx.error(errors.OPERATION_NOT_PERMITTED)
        raw = ctx.input("new_password", "")
        problem = passwords.new_password_errors(raw, account=account)
        if problem:
            return ctx.input_error("new_password", problem)
        had_password = account.user.has_usable_password()
        passwords.set_password(account, raw)
        audit.record(
            audit.PASSWORD_CHANGED,
            env=ctx.env,
            account=account,
            details={"context": "recovery", "flow_id": ctx.flow_id},
        )
        if not had_password:
            events.credential_added(account, signals.CREDENTIAL_PASSWORD, None, env=ctx.env)
        # Hanko: other sessions survive a recovery. A reset password ends them, and the devices
        # trusted for MFA, in this step's transaction (security-checks SE-07); the session this
        # flow issues on success comes later and stays.
        sessions.revoke_all(
            account,
            reason=signals.REASON_CREDENTIAL_RESET,
            env=ctx.env,
            audit_details={"context": "recovery", "flow_id": ctx.flow_id},
        )
        ctx.stash.set(n.STASH_USER_HAS_PASSWORD, True)
        ctx.stash.set(n.STASH_PW_RECOVERY_PENDING, False)
        schedule_mfa_creation(ctx)
        ctx.prevent_revert()
        return ctx.continue_to()


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
        if not result.ok or result.max_attempts_reached:
            events.login_failed(
                account=None,
                identifier=ctx.stash.get(n.STASH_EMAIL),
                method=signals.LOGIN_METHOD_PASSCODE,
                reason=signals.FAILURE_TOO_MANY_ATTEMPTS
                if result.max_attempts_reached
                else signals.FAILURE_WRONG_PASSCODE,
                env=ctx.env,
            )
        if result.max_attempts_reached:
            audit.record(audit.LOGIN_FAILURE, env=ctx.env, error="passcode tries", details=failure)
            return ctx.error(errors.PASSCODE_MAX_ATTEMPTS_REACHED)
        if not result.ok:
            audit.record(audit.LOGIN_FAILURE, env=ctx.env, error="wrong passcode", details=failure)
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
        key = ratelimit.passcode_key(ctx.env.ip, email)
        if limited := rate_limit_error(ctx, ratelimit.Bucket.PASSCODE, key):
            return ctx.error(limited)
        deliver_passcode(ctx)
        return ctx.continue_to(n.STATE_PASSCODE_CONFIRMATION)


# --- passkeys (§4.0.2.1, §4.0.2.3, §4.0.2.8) ----------------------------------------------------


class WebauthnGenerateRequestOptions(Action):
    """Ask the browser for a passkey: any discoverable one, or this user's in privacy mode."""

    name = n.ACTION_WEBAUTHN_GENERATE_REQUEST_OPTIONS
    description = "Get webauthn request options in order to sign in with a webauthn credential."

    def initialize(self, setup: ActionSetup) -> None:
        stash = setup.stash
        if not (stash.get(n.STASH_WEBAUTHN_AVAILABLE) and features.passkeys()) or (
            settings.PRIVACY.ONLY_SHOW_ACTUAL_LOGIN_METHODS
            and setup.current_state == n.STATE_LOGIN_METHOD_CHOOSER
            and stash.get(n.STASH_USER_ID)
            and not stash.get(n.STASH_USER_HAS_PASSKEY)
        ):
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        account = account_of(ctx) if settings.PRIVACY.ONLY_SHOW_ACTUAL_LOGIN_METHODS else None
        return request_passkey(ctx, account)


def request_passkey(ctx: FlowContext, account: accounts.Account | None) -> Outcome:
    """Put passkey request options in the payload and go to ``login_passkey``."""
    allowed = None
    if account is not None:
        allowed = [c.id for c in webauthn.credentials_of(account, mfa_only=False)]
    options = webauthn.authentication_options(
        user_id=str(account.id) if account else None,
        allow_credential_ids=allowed,
        user_verification=settings.PASSKEY.USER_VERIFICATION,
        mfa=False,
        flow_id=ctx.flow_id,
    )
    ctx.stash.set(n.STASH_WEBAUTHN_SESSION_DATA_ID, options.challenge_id)
    ctx.stash.set(n.STASH_USER_ID, str(account.id) if account else n.NIL_USER_ID)
    ctx.payload["request_options"] = options.options
    return ctx.continue_to(n.STATE_LOGIN_PASSKEY)


class WebauthnVerifyAssertionResponse(Action):
    """Check a passkey (or, after a password, a security key) assertion (§4.0.2.3)."""

    name = n.ACTION_WEBAUTHN_VERIFY_ASSERTION_RESPONSE
    description = "Send the result which was generated by using a webauthn credential."

    def initialize(self, setup: ActionSetup) -> None:
        if not setup.stash.get(n.STASH_WEBAUTHN_AVAILABLE):
            setup.suspend()
            return
        setup.add_input(i.json("assertion_response", required=True))

    def execute(self, ctx: FlowContext) -> Outcome:
        challenge_id = ctx.stash.get(n.STASH_WEBAUTHN_SESSION_DATA_ID)
        if not challenge_id:
            raise RuntimeError("no WebAuthn challenge was issued in this flow")
        second_factor = ctx.stash.get(n.STASH_MFA_METHOD) == n.MFA_METHOD_SECURITY_KEY
        failure = {"login_method": n.LOGIN_METHOD_PASSKEY, "flow_id": ctx.flow_id}
        try:
            assertion = webauthn.verify_authentication(
                challenge_id, ctx.input("assertion_response"), flow_id=ctx.flow_id
            )
        except webauthn.MfaOnlyCredential:
            ctx.set_flow_error(errors.WEBAUTHN_CREDENTIAL_INVALID_MFA_ONLY)
            return ctx.continue_to(ctx.current_state)
        except webauthn.WebauthnInvalid as problem:
            audit.record(audit.LOGIN_FAILURE, env=ctx.env, error=str(problem), details=failure)
            events.login_failed(
                account=None,
                identifier=ctx.stash.get(n.STASH_USER_IDENTIFICATION) if second_factor else None,
                method=signals.LOGIN_METHOD_SECURITY_KEY
                if second_factor
                else signals.LOGIN_METHOD_PASSKEY,
                reason=signals.FAILURE_INVALID_PASSKEY,
                env=ctx.env,
            )
            ctx.set_flow_error(errors.PASSKEY_INVALID)
            return ctx.continue_to(ctx.current_state)
        expected = ctx.stash.get(n.STASH_USER_ID)
        if expected and expected != n.NIL_USER_ID and expected != str(assertion.account.id):
            ctx.set_flow_error(errors.PASSKEY_INVALID)
            return ctx.continue_to(n.STATE_ERROR)
        if not second_factor:
            ctx.stash.set(n.STASH_LOGIN_METHOD, n.LOGIN_METHOD_PASSKEY)
        facts = stash_account_facts(ctx, assertion.account)
        if facts.username:
            ctx.stash.set(n.STASH_USERNAME, facts.username)
        if facts.primary_email:
            ctx.stash.set(n.STASH_EMAIL, facts.primary_email)
        schedule_mfa_creation(ctx)
        ctx.prevent_revert()
        return ctx.continue_to()
