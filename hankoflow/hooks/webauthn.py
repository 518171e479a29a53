"""WebAuthn hooks: passkey autofill options on ``login_init``, and storing credentials created
during login onboarding or in the profile (flow-api.md §4.1.2, §4.0.8, §4.3.3)."""

from __future__ import annotations

from hankoflow import emails, errors, features, signals
from hankoflow import names as n
from hankoflow.conf import settings
from hankoflow.engine import FlowContext, Hook
from hankoflow.services import audit, events, notifications, webauthn
from hankoflow.steps import account_of


class ConditionalUiRequestOptions(Hook):
    """Discoverable request options for the browser's passkey autofill (conditional mediation)."""

    def run(self, ctx: FlowContext) -> None:
        stash = ctx.stash
        if not (
            stash.get(n.STASH_WEBAUTHN_AVAILABLE)
            and stash.get(n.STASH_WEBAUTHN_CONDITIONAL_MEDIATION_AVAILABLE)
            and features.passkeys()
        ):
            return
        options = webauthn.authentication_options(
            user_id=None,
            allow_credential_ids=None,
            user_verification=settings.PASSKEY.USER_VERIFICATION,
            mfa=False,
            flow_id=ctx.flow_id,
        )
        stash.set(n.STASH_WEBAUTHN_SESSION_DATA_ID, options.challenge_id)
        ctx.payload["request_options"] = options.options


class WebauthnCredentialSave(Hook):
    """Store the credential just verified, at once: login (after
    ``onboarding_verify_passkey_attestation``) and profile (after
    ``webauthn_credential_verification``, with the ``passkey_create`` or ``mfa_create`` security
    notification)."""

    def run(self, ctx: FlowContext) -> None:
        pending = ctx.stash.get(n.STASH_WEBAUTHN_CREDENTIALS, [])
        if not pending:
            return
        account = account_of(ctx)
        if account is None:
            raise RuntimeError("no account to store the credential for")
        ctx.stash.set(n.STASH_WEBAUTHN_CREDENTIALS, [])
        for raw in pending:
            try:
                saved = webauthn.save_credential(account, webauthn.NewCredential.from_stash(raw))
            except webauthn.CredentialExists:
                # Registered meanwhile by a concurrent step (the exclude list could not know).
                ctx.set_flow_error(errors.PASSKEY_INVALID)
                continue
            kind = audit.SECURITY_KEY_CREATED if saved.mfa_only else audit.PASSKEY_CREATED
            key = "security_key" if saved.mfa_only else "passkey"
            audit.record(
                kind, env=ctx.env, account=account, details={key: saved.id, "flow_id": ctx.flow_id}
            )
            added = (
                signals.CREDENTIAL_SECURITY_KEY if saved.mfa_only else signals.CREDENTIAL_PASSKEY
            )
            events.credential_added(account, added, saved.id, env=ctx.env)
            if ctx.is_flow(n.FLOW_PROFILE):
                kind = emails.MFA_CREATE if saved.mfa_only else emails.PASSKEY_CREATE
                notifications.notify(account, kind, env=ctx.env)
