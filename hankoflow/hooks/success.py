"""Hooks before ``success``: create the account (registration), describe the user, work out
the authentication methods and issue the session (flow-api.md §4.5, §4.2.3)."""

from __future__ import annotations

from django.db import transaction

from hankoflow import errors, signals
from hankoflow import names as n
from hankoflow.engine import FlowContext, Hook, StepRefused
from hankoflow.services import (
    accounts,
    audit,
    events,
    jwks,
    profile,
    read_ahead,
    sessions,
    totp,
    webauthn,
    webhooks,
)
from hankoflow.services.webhooks import sources as webhook_sources
from hankoflow.steps import account_of, enrolment_secret, holds_lock

# login_method / mfa_method -> amr value (flow-api.md §4.5.1)
AMR_BY_LOGIN_METHOD = {"password": "pwd", "passkey": "passkey", "passcode": "otp"}
AMR_BY_MFA_METHOD = {"totp": "totp", "security_key": "security_key"}
_GENERATIONS = [jwks.GENERATION_CACHE_KEY, webhook_sources.GENERATION_CACHE_KEY]
"""What a sign-in reads from the shared cache in one round trip (``read_ahead``)."""


class CreateUser(Hook):
    """Registration: the account exists only from here on, with everything the flow collected.

    All of it is written in one savepoint: if another sign-up took the address, the username or
    a credential meanwhile, nothing of this account remains and the step is refused.
    """

    def run(self, ctx: FlowContext) -> None:
        if ctx.stash.get(n.STASH_SKIP_USER_CREATION):
            return
        taken = (accounts.EmailAlreadyExists, accounts.UsernameAlreadyExists)
        try:
            with transaction.atomic():
                account = accounts.create(
                    ctx.stash.get(n.STASH_USER_ID),
                    email=ctx.stash.get(n.STASH_EMAIL),
                    email_verified=bool(ctx.stash.get(n.STASH_EMAIL_VERIFIED)),
                    username=ctx.stash.get(n.STASH_USERNAME),
                    password_hash=ctx.stash.get(n.STASH_NEW_PASSWORD),
                )
                added: list[tuple[str, str | None]] = []
                details = {"flow_id": ctx.flow_id, **self._second_factors(ctx, account, added)}
        except (*taken, webauthn.CredentialExists):
            raise StepRefused(errors.OPERATION_NOT_PERMITTED) from None
        ctx.stash.delete(n.STASH_NEW_PASSWORD)
        if ctx.stash.get(n.STASH_USERNAME):
            details["username"] = ctx.stash.get(n.STASH_USERNAME)
        if account.user.has_usable_password():
            details["password"] = True
            added.insert(0, (signals.CREDENTIAL_PASSWORD, None))
        audit.record(audit.USER_CREATED, env=ctx.env, account=account, details=details)
        webhooks.user_changed(webhooks.events.USER_CREATE, account, env=ctx.env)
        events.user_registered(account, env=ctx.env)
        for kind, credential_id in added:
            events.credential_added(account, kind, credential_id, env=ctx.env)

    @staticmethod
    def _second_factors(
        ctx: FlowContext, account: accounts.Account, added: list[tuple[str, str | None]]
    ) -> dict:
        """Store the passkeys, security keys and TOTP secret set up during sign-up; each one's
        kind and id is appended to ``added``."""
        details = {}
        for raw in ctx.stash.get(n.STASH_WEBAUTHN_CREDENTIALS, []):
            saved = webauthn.save_credential(account, webauthn.NewCredential.from_stash(raw))
            details["security_key" if saved.mfa_only else "passkey"] = saved.id
            kind = signals.CREDENTIAL_SECURITY_KEY if saved.mfa_only else signals.CREDENTIAL_PASSKEY
            added.append((kind, saved.id))
        ctx.stash.set(n.STASH_WEBAUTHN_CREDENTIALS, [])
        if ctx.stash.get(n.STASH_OTP_SECRET) and ctx.stash.get(n.STASH_USER_HAS_OTP_SECRET):
            secret = totp.save_secret(
                account,
                enrolment_secret(ctx),
                last_step=ctx.stash.get(n.STASH_OTP_LAST_VALIDATED_STEP),
            )
            details["otp_secret"] = str(secret.id)
            added.append((signals.CREDENTIAL_TOTP, str(secret.id)))
        return details


class GetUserData(Hook):
    def run(self, ctx: FlowContext) -> None:
        ctx.payload["user"] = profile.profile_data(_account(ctx))


class DetermineLoginAMR(Hook):
    """Login: the methods used, e.g. ``["pwd", "totp"]``; an email passcode is ``otp``."""

    def run(self, ctx: FlowContext) -> None:
        first = AMR_BY_LOGIN_METHOD.get(ctx.stash.get(n.STASH_LOGIN_METHOD, ""))
        if ctx.stash.get(n.STASH_LOGIN_METHOD) == n.LOGIN_METHOD_THIRD_PARTY:
            first = _ext_amr(ctx.stash.get(n.STASH_THIRD_PARTY_PROVIDER))
        second = AMR_BY_MFA_METHOD.get(ctx.stash.get(n.STASH_MFA_METHOD, ""))
        ctx.stash.set(n.STASH_AMR, [m for m in (first, second) if m])


class DetermineRegistrationAMR(Hook):
    """Registration: ``otp`` if an email passcode was verified, then each enrolled method."""

    def run(self, ctx: FlowContext) -> None:
        amr = []
        if ctx.stash.get(n.STASH_REGISTRATION_AMR_PASSCODE):
            amr.append("otp")
        if ctx.stash.get(n.STASH_REGISTRATION_AMR_THIRD_PARTY):
            amr.append(_ext_amr(ctx.stash.get(n.STASH_REGISTRATION_AMR_THIRD_PARTY_PROVIDER)))
        facts = accounts.facts(_account(ctx))
        enrolled = {
            "pwd": facts.has_password,
            "passkey": facts.has_passkey,
            "totp": facts.has_otp_secret,
            "security_key": facts.has_security_key,
        }
        amr += [method for method, present in enrolled.items() if present]
        ctx.stash.set(n.STASH_AMR, amr)


class IssueSession(Hook):
    """Sign the session JWT, store the session row, and hand out the cookie or header."""

    def run(self, ctx: FlowContext) -> None:
        # Signing reads the key set's generation and the events read the webhooks': one MGET.
        with read_ahead.reading(_GENERATIONS):
            self._issue(ctx)

    def _issue(self, ctx: FlowContext) -> None:
        account = _account(ctx)
        last_login = None
        entry = None
        if ctx.is_flow(n.FLOW_LOGIN, n.FLOW_PASSWORD_RECOVERY) or (
            ctx.is_flow(n.FLOW_TOKEN_EXCHANGE) and ctx.stash.get(n.STASH_LOGIN_METHOD)
        ):
            last_login = {"login_method": ctx.stash.get(n.STASH_LOGIN_METHOD)}
            if ctx.stash.get(n.STASH_THIRD_PARTY_PROVIDER):
                last_login["third_party_provider"] = ctx.stash.get(n.STASH_THIRD_PARTY_PROVIDER)
            if ctx.stash.get(n.STASH_MFA_METHOD):
                last_login["mfa_method"] = ctx.stash.get(n.STASH_MFA_METHOD)
            # Stored with the session (one statement on PostgreSQL), echoed once it is.
            entry = audit.entry_for(
                audit.LOGIN_SUCCESS,
                env=ctx.env,
                account=account,
                details={**last_login, "flow_id": ctx.flow_id},
            )
        issued = sessions.issue(
            account,
            amr=ctx.stash.get(n.STASH_AMR, []),
            env=ctx.env,
            remember_me=ctx.stash.get(n.STASH_REMEMBER_ME_SELECTED),
            also=entry,
            account_locked=holds_lock(ctx, account),
        )
        ctx.payload["claims"] = issued.claims
        webhooks.session_created(issued.session_id)  # session.create.flow
        for effect in issued.effects:
            ctx.effects.add(effect)
        if entry is not None:
            ctx.payload["last_login"] = last_login
            audit.written(entry)
            amr = ctx.stash.get(n.STASH_AMR, [])
            events.login_succeeded(account, amr=amr, session_id=issued.session_id, env=ctx.env)
            webhooks.user_changed(webhooks.events.USER_LOGIN, account, env=ctx.env)


def _ext_amr(provider: str | None) -> str:
    """A third-party sign-in's amr value: ``ext:<provider>`` (``ext`` when unknown)."""
    return f"ext:{provider}" if provider else "ext"


def _account(ctx: FlowContext) -> accounts.Account:
    account = account_of(ctx)
    if account is None:
        raise RuntimeError("success reached without an account")
    return account
