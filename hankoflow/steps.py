"""Steps that actions and hooks share: loading the flow's account, stashing what is known about
it, starting a passcode login and sending a passcode (flow-api.md §4.0.2), spending a rate limit,
deciding which onboarding and MFA states follow, and keeping the TOTP secret being enrolled.

It sits below ``actions/`` and ``hooks/`` (both import it, it imports neither), above
``services/``.
"""

from __future__ import annotations

from hankoflow import errors, features
from hankoflow import names as n
from hankoflow.conf import settings
from hankoflow.engine import ActionSetup, FlowContext, Outcome
from hankoflow.errors import FlowError
from hankoflow.services import (
    accounts,
    audit,
    crypto,
    device_trust,
    events,
    mail,
    passcodes,
    ratelimit,
)


def account_of(ctx: FlowContext) -> accounts.Account | None:
    """The account the flow is about, once one is known (stash ``user_id``).

    Loaded once per request: several hooks of one step (user data, session, audit) need it.
    """
    user_id = ctx.stash.get(n.STASH_USER_ID)
    if not user_id or user_id == n.NIL_USER_ID:
        return None
    cached = ctx.memo.get("account")
    if cached is None or str(cached.id) != user_id:
        cached = ctx.memo["account"] = accounts.get(user_id)
    return cached


def session_account(step: FlowContext | ActionSetup) -> accounts.Account | None:
    """The profile flow's session user, as ``hooks/profile.py`` loaded it for this step (fresh
    from the database before every action); None once the account is gone."""
    return step.memo.get("account")


def lock_account(ctx: FlowContext, account: accounts.Account) -> accounts.Account:
    """Lock ``account``'s row for the rest of the step and make the locked, fresh copy the
    step's account (``account_of`` / ``session_account``): a change that must not race decides
    on it."""
    locked = ctx.memo["account"] = accounts.lock(account)
    held_lock(ctx, locked)
    return locked


def held_lock(ctx: FlowContext, account: accounts.Account) -> None:
    """The step's transaction holds ``account``'s row lock (a step is one transaction, and
    ``memo`` lives as long as the step), so issuing a session need not take it again."""
    ctx.memo["locked_account_id"] = account.pk


def holds_lock(ctx: FlowContext, account: accounts.Account) -> bool:
    return ctx.memo.get("locked_account_id") == account.pk


def stash_account_facts(ctx: FlowContext, account: accounts.Account) -> accounts.AccountFacts:
    """Remember who is signing in and which credentials they have (§4.0.2.2 step 5)."""
    facts = accounts.facts(account)
    ctx.memo["account"] = account
    ctx.stash.set(n.STASH_USER_ID, str(account.id))
    _stash_facts(ctx, facts)
    return facts


def stash_identified(ctx: FlowContext, account: accounts.IdentifiedAccount | None) -> None:
    """``stash_account_facts`` for what a login identifier named, without loading the account.

    An identifier without an account stashes the same keys, all false, so its flow state is as
    large to copy, store and load (security-checks PC-08).
    """
    if account is not None:
        ctx.stash.set(n.STASH_USER_ID, account.id)
    _stash_facts(ctx, account.facts if account else accounts.NO_FACTS)


def _stash_facts(ctx: FlowContext, facts: accounts.AccountFacts) -> None:
    ctx.stash.set(n.STASH_USER_HAS_PASSWORD, facts.has_password)
    ctx.stash.set(n.STASH_USER_HAS_PASSKEY, facts.has_passkey)
    ctx.stash.set(n.STASH_USER_HAS_WEBAUTHN_CREDENTIAL, facts.has_webauthn_credential)
    ctx.stash.set(n.STASH_USER_HAS_SECURITY_KEY, facts.has_security_key)
    ctx.stash.set(n.STASH_USER_HAS_OTP_SECRET, facts.has_otp_secret)
    ctx.stash.set(n.STASH_USER_HAS_USERNAME, facts.has_username)
    ctx.stash.set(n.STASH_USER_HAS_EMAILS, facts.has_emails)


def start_passcode_login(ctx: FlowContext) -> Outcome:
    """Log in by email passcode; unknown addresses get a notice without a code (§4.0.2.2 step 9)."""
    known = bool(ctx.stash.get(n.STASH_USER_ID))
    ctx.stash.set(n.STASH_LOGIN_METHOD, n.LOGIN_METHOD_PASSCODE)
    ctx.stash.set(
        n.STASH_PASSCODE_TEMPLATE, n.TEMPLATE_LOGIN if known else n.TEMPLATE_EMAIL_LOGIN_ATTEMPTED
    )
    return ctx.continue_to(n.STATE_PASSCODE_CONFIRMATION)


def deliver_passcode(ctx: FlowContext) -> None:
    """Create a passcode for the stashed email and queue its email in the step's transaction.

    ``…_attempted`` notices still get a passcode nobody learns, so that an unknown address walks
    through exactly the same states and checks as a known one (security-checks PC-08). For the
    same reason the owner is looked up the same way whether or not the flow knows an account
    (login by an unknown address, or a sign-up whose account does not exist yet): inside the
    passcode's INSERT.
    """
    email = ctx.stash.get(n.STASH_EMAIL)
    template = ctx.stash.get(n.STASH_PASSCODE_TEMPLATE)
    owner = ctx.stash.get(n.STASH_USER_ID)
    issued = passcodes.issue(email=email, account_id=owner, flow_id=ctx.flow_id)
    secret = None if template in n.TEMPLATES_WITHOUT_CODE else {"code": issued.code}
    mail.queue(
        template,
        to=email,
        language=mail.language_for(ctx.env.language if ctx.env else ""),
        context={
            "service_name": settings.SERVICE.NAME,
            "ttl_minutes": max(1, settings.EMAIL.PASSCODE_TTL // 60),
        },
        secret=secret,
        dedupe_key=mail.passcode_dedupe_key(issued.id),
    )
    ctx.stash.set(n.STASH_PASSCODE_ID, issued.id)
    ctx.stash.set(n.STASH_PASSCODE_EMAIL, email)


# The payload key that tells the client how long to wait, per bucket (flow-api.md §5,
# ``rate_limit_exceeded``): sending passcodes says when to resend, the others when to retry.
_WAIT_PAYLOAD_KEY = {
    ratelimit.Bucket.PASSCODE: "resend_after",
    ratelimit.Bucket.PASSCODE_EMAIL: "resend_after",
    ratelimit.Bucket.PASSWORD: "retry_after",
    ratelimit.Bucket.OTP: "retry_after",
    ratelimit.Bucket.TOKEN: "retry_after",
}


def rate_limit_error(ctx: FlowContext, bucket: ratelimit.Bucket, key: str) -> FlowError | None:
    """Spend one token of ``bucket`` for ``key`` (a ``ratelimit.*_key``); None when allowed.

    When the limit refuses, the payload gets the wait in seconds and the answer is
    ``rate_limit_exceeded``: an action returns ``ctx.error(...)`` with it, a hook sets it with
    ``ctx.set_flow_error(...)``.
    """
    decision = ratelimit.take(bucket, key)
    if decision.allowed:
        return None
    ctx.payload[_WAIT_PAYLOAD_KEY[bucket]] = decision.retry_after
    return errors.RATE_LIMIT_EXCEEDED


def passcode_send_error(ctx: FlowContext, email: str) -> FlowError | None:
    """``rate_limit_error`` for sending a passcode to ``email``: every bucket a send spends
    (``ratelimit.passcode_sends``), stopping at the first that refuses."""
    for bucket, key in ratelimit.passcode_sends(ctx.env.ip, email):
        if limited := rate_limit_error(ctx, bucket, key):
            return limited
    return None


def record_login_failure(
    ctx: FlowContext,
    *,
    account: accounts.Account | None,
    identifier: str | None,
    method: str,
    reason: str,
    error: str,
    details: dict[str, object] | None = None,
) -> None:
    """Audit a failed login and send ``login_failed``: every failure gets both."""
    audit.record(audit.LOGIN_FAILURE, env=ctx.env, account=account, error=error, details=details)
    events.login_failed(
        account=account, identifier=identifier, method=method, reason=reason, env=ctx.env
    )


def can_use_passkeys(ctx: FlowContext) -> bool:
    """The browser can do WebAuthn (preflight said so) and passkeys are on."""
    return bool(ctx.stash.get(n.STASH_WEBAUTHN_AVAILABLE)) and features.passkeys()


def credential_onboarding_states(
    *,
    passkeys: bool,
    passwords: bool,
    passkey_mode: str,
    password_mode: str,
    has_passkey: bool,
    has_password: bool,
) -> list[str]:
    """Which credentials to ask for next (the tables of flow-api.md §4.1.3 and §4.2.2).

    ``passkeys``/``passwords``: the method is usable; modes are ``always``, ``conditional`` or
    ``never``. ``conditional`` means "one of the two" when both are usable, else ``always``.
    """
    want_pk = passkeys and not has_passkey
    want_pw = passwords and not has_password
    if passkeys and passwords:
        modes = (passkey_mode, password_mode)
        if modes == ("always", "always"):
            if want_pk and want_pw:
                password_first = not settings.PASSWORD.OPTIONAL and settings.PASSKEY.OPTIONAL
                pair = [n.STATE_PASSWORD_CREATION, n.STATE_ONBOARDING_CREATE_PASSKEY]
                return pair if password_first else pair[::-1]
            return (
                [n.STATE_PASSWORD_CREATION]
                if want_pw
                else ([n.STATE_ONBOARDING_CREATE_PASSKEY] if want_pk else [])
            )
        if modes == ("conditional", "conditional"):
            both_missing = want_pk and want_pw
            return [n.STATE_CREDENTIAL_ONBOARDING_CHOOSER] if both_missing else []
        if modes in (("always", "conditional"), ("always", "never")):
            return [n.STATE_ONBOARDING_CREATE_PASSKEY] if want_pk else []
        if modes in (("conditional", "always"), ("never", "always")):
            return [n.STATE_PASSWORD_CREATION] if want_pw else []
        if modes == ("conditional", "never"):
            return [n.STATE_ONBOARDING_CREATE_PASSKEY] if want_pk and want_pw else []
        if modes == ("never", "conditional"):
            return [n.STATE_PASSWORD_CREATION] if want_pk and want_pw else []
        return []
    if passkeys and passkey_mode != "never" and want_pk:
        return [n.STATE_ONBOARDING_CREATE_PASSKEY]
    if passwords and password_mode != "never" and want_pw:  # noqa: S105
        return [n.STATE_PASSWORD_CREATION]
    return []


def device_trusted(ctx: FlowContext) -> bool:
    """The browser holds a device-trust cookie for the flow's account."""
    account = account_of(ctx)
    return bool(account and ctx.env and device_trust.is_trusted(ctx.env.request, account))


def second_factor_state(ctx: FlowContext, *, trusted: bool) -> str | None:
    """The MFA state a user with an enrolled factor must pass after the first factor, whichever
    it was (security-checks FL-08); ``STATE_ERROR`` (with the flow error set) when none fits."""
    stash = ctx.stash
    if not features.mfa() or trusted:
        return None
    if stash.get(n.STASH_LOGIN_METHOD) == n.LOGIN_METHOD_PASSKEY and stash.get(
        n.STASH_PASSKEY_USER_VERIFIED, True
    ):
        # Hanko: skips the second factor after any passkey; we only after one that verified
        # the user (security-checks WA-04, FL-08): presence alone is one factor.
        return None  # a passkey is already possession plus user verification
    has_key = bool(stash.get(n.STASH_USER_HAS_SECURITY_KEY))
    otp_ok = features.totp() and bool(stash.get(n.STASH_USER_HAS_OTP_SECRET))
    attachment_ok = bool(stash.get(n.STASH_SECURITY_KEY_ATTACHMENT_SUPPORTED))
    if features.security_keys() and has_key:
        if attachment_ok:
            return n.STATE_LOGIN_SECURITY_KEY
        if otp_ok:
            return n.STATE_LOGIN_OTP
        ctx.set_flow_error(errors.PLATFORM_AUTHENTICATOR_REQUIRED)
        return n.STATE_ERROR
    return n.STATE_LOGIN_OTP if otp_ok else None


def mfa_creation_state(ctx: FlowContext) -> str | None:
    """``mfa_method_chooser`` when the user should enrol a second factor now (§4.0.8).

    Deferred while a password is still to be set, asked once per flow, and only for users who
    sign in with something MFA can protect (a password or an email passcode).
    """
    stash = ctx.stash
    if n.STATE_PASSWORD_CREATION in stash.scheduled or stash.get(n.STASH_PW_RECOVERY_PENDING):
        return None
    if stash.visited(n.STATE_MFA_METHOD_CHOOSER):
        return None
    by_password = features.passwords() and stash.get(n.STASH_USER_HAS_PASSWORD)
    by_email = features.passcode_login() and (
        stash.get(n.STASH_EMAIL) or stash.get(n.STASH_USER_HAS_EMAILS)
    )
    acquire = features.mfa() and (
        (ctx.is_flow(n.FLOW_LOGIN) and settings.MFA.ACQUIRE_ON_LOGIN)
        or (
            ctx.is_flow(n.FLOW_REGISTRATION, n.FLOW_INVITED_REGISTRATION)
            and settings.MFA.ACQUIRE_ON_REGISTRATION
        )
    )
    enrolled = stash.get(n.STASH_USER_HAS_SECURITY_KEY) or stash.get(n.STASH_USER_HAS_OTP_SECRET)
    if enrolled or not (by_password or by_email) or not acquire:
        return None
    if features.totp() or stash.get(n.STASH_SECURITY_KEY_ATTACHMENT_SUPPORTED):
        return n.STATE_MFA_METHOD_CHOOSER
    if not settings.MFA.OPTIONAL:
        ctx.set_flow_error(errors.PLATFORM_AUTHENTICATOR_REQUIRED)
    return None


def schedule_mfa_creation(ctx: FlowContext) -> None:
    """Make MFA enrolment the very next state when it is due (ScheduleMFACreationStates)."""
    state = mfa_creation_state(ctx)
    if state:
        ctx.schedule(state)


# --- the TOTP secret being enrolled ---------------------------------------------------------------

_OTP_SECRET_PURPOSE = "totp-enrolment"  # noqa: S105 - an encryption purpose label


def stash_enrolment_secret(ctx: FlowContext, secret: str) -> None:
    """Keep the TOTP secret being set up in the stash until enrolment succeeds: encrypted, as at
    rest."""
    ctx.stash.set(n.STASH_OTP_SECRET, crypto.encrypt(secret, _OTP_SECRET_PURPOSE))


def enrolment_secret(ctx: FlowContext) -> str:
    """The TOTP secret being set up in this flow."""
    return crypto.decrypt(ctx.stash.get(n.STASH_OTP_SECRET), _OTP_SECRET_PURPOSE).decode()
