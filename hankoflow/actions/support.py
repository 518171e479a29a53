"""Steps several actions and hooks share: loading the flow's account, stashing what is known
about it, starting a passcode login and sending a passcode (flow-api.md §4.0.2)."""

from __future__ import annotations

from hankoflow.conf import settings
from hankoflow.engine import FlowContext, Outcome
from hankoflow.flows import names as n
from hankoflow.services import accounts, mail, passcodes


def account_of(ctx: FlowContext) -> accounts.Account | None:
    """The account the flow is about, once one is known (stash ``user_id``)."""
    user_id = ctx.stash.get(n.STASH_USER_ID)
    return accounts.get(user_id) if user_id else None


def stash_account_facts(ctx: FlowContext, account: accounts.Account) -> accounts.AccountFacts:
    """Remember who is signing in and which credentials they have (§4.0.2.2 step 5)."""
    facts = accounts.facts(account)
    ctx.stash.set(n.STASH_USER_ID, str(account.id))
    ctx.stash.set(n.STASH_USER_HAS_PASSWORD, facts.has_password)
    ctx.stash.set(n.STASH_USER_HAS_PASSKEY, facts.has_passkey)
    ctx.stash.set(n.STASH_USER_HAS_WEBAUTHN_CREDENTIAL, facts.has_webauthn_credential)
    ctx.stash.set(n.STASH_USER_HAS_SECURITY_KEY, facts.has_security_key)
    ctx.stash.set(n.STASH_USER_HAS_OTP_SECRET, facts.has_otp_secret)
    ctx.stash.set(n.STASH_USER_HAS_USERNAME, facts.has_username)
    ctx.stash.set(n.STASH_USER_HAS_EMAILS, facts.has_emails)
    return facts


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
    through exactly the same states and checks as a known one (security-checks PC-08).
    """
    email = ctx.stash.get(n.STASH_EMAIL)
    template = ctx.stash.get(n.STASH_PASSCODE_TEMPLATE)
    issued = passcodes.issue(email=email, account=account_of(ctx), flow_id=ctx.flow_id)
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
        dedupe_key=f"passcode:{issued.id}",
    )
    ctx.stash.set(n.STASH_PASSCODE_ID, issued.id)
    ctx.stash.set(n.STASH_PASSCODE_EMAIL, email)
