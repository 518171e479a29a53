"""Profile actions on passkeys and security keys (flow-api.md §4.3.2 #12, #13, #17, #18, #20,
§4.3.3).

Creating one is two steps: ``webauthn_credential_create`` / ``security_key_create`` hand out
creation options and move to ``webauthn_credential_verification``, whose
``webauthn_verify_attestation_response`` checks the browser's answer; the after-state hook
``WebauthnCredentialSave`` (hooks/webauthn.py) stores it and sends the security notification.

Deleting one must never leave the account without a way to sign in: the action locks the
account (``accounts.lock``) and decides again on what the lock returns, so two deletes at once
cannot both pass a check that each of them alone passes.
"""

from __future__ import annotations

from hankoflow import emails, errors, features
from hankoflow import names as n
from hankoflow.actions.profile.reauthentication import reauthentication_required
from hankoflow.conf import settings
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome
from hankoflow.engine import errors as engine_errors
from hankoflow.engine import inputs as i
from hankoflow.models import Account, WebauthnCredential
from hankoflow.services import accounts, audit, login_methods, notifications, webauthn
from hankoflow.steps import account_of, lock_account, session_account

# How ``webauthn.clean_name`` refusals read on the ``passkey_name`` input.
_NAME_ERRORS = {
    "missing": engine_errors.VALUE_MISSING,
    "too_long": engine_errors.VALUE_TOO_LONG,
    "invalid": engine_errors.VALUE_INVALID,
}


def passkey_deletable(account: Account) -> bool:
    """Whether one of the account's passkeys may go (row #18).

    Hanko: counts security keys too, so a passkey next to a security key may go even when it
    is the only way in; a security key cannot sign anyone in, so we count passkeys only.
    """
    passkeys = webauthn.credentials_of(account, mfa_only=False)
    if not passkeys:
        return False
    if len(passkeys) > 1:
        return True
    # The last passkey: a password with an identifier to type, or an email passcode remains
    # (third-party and SAML identities count in Hanko too).
    return settings.PASSKEY.OPTIONAL and login_methods.can_sign_in(
        account, without_passkeys=len(passkeys)
    )


def security_key_deletable(account: Account) -> bool:
    """Whether one of the account's security keys may go (row #13): not the last second factor
    while MFA is mandatory."""
    keys = webauthn.credentials_of(account, mfa_only=True)
    if not keys:
        return False
    mandatory = settings.MFA.ENABLED and not settings.MFA.OPTIONAL
    return not (mandatory and len(keys) == 1 and not accounts.facts(account).has_otp_secret)


def start_registration(ctx: FlowContext, *, mfa_only: bool) -> Outcome:
    """Creation options for a passkey or a security key of the session user (rows #12, #17)."""
    if (outcome := reauthentication_required(ctx)) is not None:
        return outcome
    account = account_of(ctx)
    if account is None:
        return ctx.error(engine_errors.OPERATION_NOT_PERMITTED)
    name, display_name = webauthn.user_names(account)
    options = webauthn.registration_options(
        user_id=str(account.id),
        user_name=name,
        user_display_name=display_name,
        mfa_only=mfa_only,
        exclude_credential_ids=[c.id for c in webauthn.credentials_of(account)],
        flow_id=ctx.flow_id,
    )
    ctx.stash.set(n.STASH_WEBAUTHN_SESSION_DATA_ID, options.challenge_id)
    ctx.stash.set(n.STASH_CREATE_MFA_ONLY_CREDENTIAL, mfa_only)
    ctx.payload["creation_options"] = options.options
    return ctx.continue_to(n.STATE_WEBAUTHN_CREDENTIAL_VERIFICATION)


class WebauthnCredentialCreate(Action):
    """Row #17: offered below ``PASSKEY.LIMIT`` credentials, passkeys and security keys alike."""

    name = n.ACTION_WEBAUTHN_CREDENTIAL_CREATE
    description = "Create a Webauthn credential for the current session user."

    def initialize(self, setup: ActionSetup) -> None:
        account = session_account(setup)
        if not (
            features.passkeys()
            and setup.stash.get(n.STASH_WEBAUTHN_AVAILABLE)
            and account is not None
            and len(webauthn.credentials_of(account)) < settings.PASSKEY.LIMIT
        ):
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        return start_registration(ctx, mfa_only=False)


class SecurityKeyCreate(Action):
    """Row #12: offered below ``MFA.SECURITY_KEYS.LIMIT`` security keys."""

    name = n.ACTION_SECURITY_KEY_CREATE
    description = "Get WebAuthn creation options to register a WebAuthn credential."

    def initialize(self, setup: ActionSetup) -> None:
        account = session_account(setup)
        if not (
            features.security_keys()
            and setup.stash.get(n.STASH_WEBAUTHN_AVAILABLE)
            and account is not None
            and len(webauthn.credentials_of(account, mfa_only=True))
            < settings.MFA.SECURITY_KEYS.LIMIT
        ):
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        return start_registration(ctx, mfa_only=True)


class WebauthnVerifyAttestationResponse(Action):
    """§4.3.3: check the new credential; ``WebauthnCredentialSave`` stores it on the way out."""

    name = n.ACTION_WEBAUTHN_VERIFY_ATTESTATION_RESPONSE
    description = "Send the result which was generated by creating a webauthn credential."

    def initialize(self, setup: ActionSetup) -> None:
        if not (
            setup.stash.get(n.STASH_WEBAUTHN_AVAILABLE)
            and (features.passkeys() or features.security_keys())
        ):
            setup.suspend()
            return
        setup.add_input(i.json("public_key", required=True))

    def execute(self, ctx: FlowContext) -> Outcome:
        try:
            new = webauthn.verify_registration(
                str(ctx.stash.get(n.STASH_WEBAUTHN_SESSION_DATA_ID)),
                ctx.input("public_key"),
                flow_id=ctx.flow_id,
            )
        except webauthn.WebauthnInvalid:
            # As Hanko: back to the profile without the credential, the error attached.
            ctx.set_flow_error(errors.PASSKEY_INVALID)
        else:
            ctx.stash.set(n.STASH_WEBAUTHN_CREDENTIALS, [new.to_stash()])
        return ctx.continue_to(n.STATE_PROFILE_INIT)


class WebauthnCredentialRename(Action):
    """Row #20: rename a passkey or a security key of the session user."""

    name = n.ACTION_WEBAUTHN_CREDENTIAL_RENAME
    description = "Rename a Webauthn credential."

    def initialize(self, setup: ActionSetup) -> None:
        account = session_account(setup)
        if not (features.passkeys() and account is not None and webauthn.credentials_of(account)):
            setup.suspend()
            return
        setup.add_input(
            i.string("passkey_id", required=True, hidden=True),
            i.string("passkey_name", required=True),
        )

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(engine_errors.FORM_DATA_INVALID)
        account = account_of(ctx)
        if account is None:
            return ctx.error(engine_errors.OPERATION_NOT_PERMITTED)
        credential = webauthn.find_credential(account, ctx.input("passkey_id"))
        if credential is None:
            return ctx.error(errors.NOT_FOUND)
        try:
            webauthn.rename_credential(credential, ctx.input("passkey_name"))
        except webauthn.InvalidCredentialName as refused:
            # Hanko: stores any name; its element asks for 3 to 32 characters.
            return ctx.input_error("passkey_name", _NAME_ERRORS[refused.reason])
        # Hanko: writes no audit entry for a rename.
        audit.record(
            audit.WEBAUTHN_CREDENTIAL_UPDATED,
            env=ctx.env,
            account=account,
            details={"credential_id": credential.id, "flow_id": ctx.flow_id},
        )
        return ctx.continue_to(n.STATE_PROFILE_INIT)


class CredentialDelete(Action):
    """Delete one passkey or security key of the session user, under the account's lock."""

    mfa_only: bool
    id_input: str

    def deletable(self, account: Account) -> bool:
        raise NotImplementedError

    def offered(self, account: Account) -> bool:
        return self.deletable(account)

    def enabled(self) -> bool:
        raise NotImplementedError

    def initialize(self, setup: ActionSetup) -> None:
        account = session_account(setup)
        if not (self.enabled() and account is not None and self.offered(account)):
            setup.suspend()
            return
        setup.add_input(i.string(self.id_input, required=True, hidden=True))

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(engine_errors.FORM_DATA_INVALID)
        account = account_of(ctx)
        if account is None:
            return ctx.error(engine_errors.OPERATION_NOT_PERMITTED)
        credential_id = ctx.input(self.id_input)
        # Hanko: either action deletes any of the user's credentials; each of ours only its kind.
        if webauthn.find_credential(account, credential_id, mfa_only=self.mfa_only) is None:
            return ctx.error(errors.NOT_FOUND)
        if (outcome := reauthentication_required(ctx)) is not None:
            return outcome
        account = lock_account(ctx, account)
        credential = webauthn.find_credential(account, credential_id, mfa_only=self.mfa_only)
        if credential is None:  # a concurrent step deleted it first
            return ctx.error(errors.NOT_FOUND)
        if not self.deletable(account):  # a concurrent step took the other way in
            return ctx.error(engine_errors.OPERATION_NOT_PERMITTED)
        request = ctx.env.request if ctx.env else None
        if webauthn.delete_credential(credential, request=request):
            self.after_delete(ctx, account, credential)
        return ctx.continue_to(n.STATE_PROFILE_INIT)

    def after_delete(
        self, ctx: FlowContext, account: Account, credential: WebauthnCredential
    ) -> None:
        raise NotImplementedError


class WebauthnCredentialDelete(CredentialDelete):
    """Row #18: not the last passkey of an account with no other way to sign in."""

    name = n.ACTION_WEBAUTHN_CREDENTIAL_DELETE
    description = "Delete a Webauthn credential."
    mfa_only = False
    id_input = "passkey_id"

    def enabled(self) -> bool:
        return features.passkeys()

    def deletable(self, account: Account) -> bool:
        return passkey_deletable(account)

    def offered(self, account: Account) -> bool:
        # hanko-elements 2.7.0 shows a security key's Delete link only while this action is
        # offered (it runs security_key_delete), as Hanko offers it for any credential. Offered
        # then for a passkey that must stay too, which the step refuses.
        return passkey_deletable(account) or (
            features.security_keys() and security_key_deletable(account)
        )

    def after_delete(
        self, ctx: FlowContext, account: Account, credential: WebauthnCredential
    ) -> None:
        # As Hanko: audited, no security notification.
        audit.record(
            audit.PASSKEY_DELETED,
            env=ctx.env,
            account=account,
            details={"credential_id": credential.id, "flow_id": ctx.flow_id},
        )


class SecurityKeyDelete(CredentialDelete):
    """Row #13: not the last second factor while MFA is mandatory."""

    name = n.ACTION_SECURITY_KEY_DELETE
    description = "Delete a security key"
    mfa_only = True
    id_input = "security_key_id"

    def enabled(self) -> bool:
        return features.security_keys()

    def deletable(self, account: Account) -> bool:
        return security_key_deletable(account)

    def after_delete(
        self, ctx: FlowContext, account: Account, credential: WebauthnCredential
    ) -> None:
        notifications.notify(account, emails.MFA_DELETE, env=ctx.env)
        # Hanko: writes no audit entry for a security key's deletion.
        audit.record(
            audit.WEBAUTHN_CREDENTIAL_DELETED,
            env=ctx.env,
            account=account,
            details={"credential_id": credential.id, "flow_id": ctx.flow_id},
        )
