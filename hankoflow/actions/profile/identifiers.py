"""Profile actions on the username, the password and the user's metadata (flow-api.md §4.3.2
#8-#11, #14-#16).

A new password follows the rules of sign-up (``passwords.new_password_errors``). Removing a
password or a username takes ``accounts.lock`` and decides again on what it returns, so two
requests can never each remove one of the last two ways in (``services/login_methods.py``).
"""

from __future__ import annotations

import uuid

from hankoflow import emails, errors, signals
from hankoflow import names as n
from hankoflow.actions.profile.reauthentication import reauthentication_required
from hankoflow.actions.registration import USERNAME_PATTERN
from hankoflow.conf import settings
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome
from hankoflow.engine import inputs as i
from hankoflow.services import (
    accounts,
    audit,
    events,
    login_methods,
    metadata,
    notifications,
    passwords,
    webhooks,
)
from hankoflow.steps import account_of, lock_account, session_account

# Hanko's cap for the profile's password inputs (bcrypt reads 72 bytes).
PASSWORD_MAX_LENGTH = passwords.MAX_BYTES


def current_session_id(ctx: FlowContext) -> uuid.UUID | None:
    """The id of the session this request carries (the transport validated it)."""
    info = getattr(ctx.env, "session", None)
    return info.session.pk if info is not None else None


def password_input() -> i.Input:
    return i.string(
        "password",
        required=True,
        min_length=settings.PASSWORD.MIN_LENGTH,
        max_length=PASSWORD_MAX_LENGTH,
    )


def username_input() -> i.Input:
    return i.string(
        "username",
        required=True,
        min_length=settings.USERNAME.MIN_LENGTH,
        max_length=settings.USERNAME.MAX_LENGTH,
        preserve=True,
        trim_space=True,
        lower_case=True,
    )


# --- passwords ----------------------------------------------------------------------------------


def can_delete_password(account: accounts.Account) -> bool:
    """Row #9: passwords optional, the account has one, and it can sign in without it.

    Hanko: counts any WebAuthn credential as another way in; a security key is only a second
    factor, so only passkeys count here.
    """
    return (
        settings.PASSWORD.ENABLED
        and settings.PASSWORD.OPTIONAL
        and accounts.has_password(account.user)
        and login_methods.can_sign_in(account, without_password=True)
    )


class PasswordCreate(Action):
    name = n.ACTION_PASSWORD_CREATE
    description = "Create a new password."

    def initialize(self, setup: ActionSetup) -> None:
        account = session_account(setup)
        if not settings.PASSWORD.ENABLED or account is None or accounts.has_password(account.user):
            setup.suspend()
            return
        setup.add_input(password_input())

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        account = account_of(ctx)
        if account is None:
            return ctx.error(errors.OPERATION_NOT_PERMITTED)
        raw = ctx.input("password", "")
        if problem := passwords.new_password_errors(raw, account=account):
            return ctx.input_error("password", problem)
        if (outcome := reauthentication_required(ctx)) is not None:
            return outcome
        account = lock_account(ctx, account)
        if accounts.has_password(account.user):  # a concurrent request set one first
            return ctx.error(errors.OPERATION_NOT_PERMITTED)
        passwords.set_password(account, raw)
        ctx.memo["account"] = account
        audit.record(
            audit.PASSWORD_CHANGED,
            env=ctx.env,
            account=account,
            details={"context": "profile", "flow_id": ctx.flow_id},
        )
        webhooks.user_changed(webhooks.events.USER_PASSWORD_UPDATE, account, env=ctx.env)
        events.credential_added(account, signals.CREDENTIAL_PASSWORD, None, env=ctx.env)
        return ctx.continue_to(n.STATE_PROFILE_INIT)


class PasswordDelete(Action):
    name = n.ACTION_PASSWORD_DELETE
    description = "Delete a password."

    def initialize(self, setup: ActionSetup) -> None:
        account = session_account(setup)
        if account is None or not can_delete_password(account):
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        account = account_of(ctx)
        if account is None:
            return ctx.error(errors.OPERATION_NOT_PERMITTED)
        if (outcome := reauthentication_required(ctx)) is not None:
            return outcome
        account = lock_account(ctx, account)
        if not can_delete_password(account):  # a concurrent request took the other way in
            return ctx.error(errors.OPERATION_NOT_PERMITTED)
        passwords.remove_password(account)
        audit.record(
            audit.PASSWORD_DELETED, env=ctx.env, account=account, details={"flow_id": ctx.flow_id}
        )
        events.credential_removed(
            account, signals.CREDENTIAL_PASSWORD, None, request=getattr(ctx.env, "request", None)
        )
        # Hanko: other sessions survive. Whoever knew the password may hold one of them, so
        # they end here and the current one stays (security-checks PW-07, ASVS 7.4.3).
        passwords.end_other_sessions(
            account,
            keep=current_session_id(ctx),
            env=ctx.env,
            audit_details={"context": "profile", "flow_id": ctx.flow_id},
        )
        return ctx.continue_to(n.STATE_PROFILE_INIT)


class PasswordUpdate(Action):
    name = n.ACTION_PASSWORD_UPDATE
    description = "Update an existing password."

    def initialize(self, setup: ActionSetup) -> None:
        account = session_account(setup)
        if not settings.PASSWORD.ENABLED or account is None:
            setup.suspend()
            return
        if not accounts.has_password(account.user):
            setup.suspend()  # password_create instead
            return
        setup.add_input(password_input())

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        account = account_of(ctx)
        if account is None:
            return ctx.error(errors.OPERATION_NOT_PERMITTED)
        raw = ctx.input("password", "")
        if problem := passwords.new_password_errors(raw, account=account):
            return ctx.input_error("password", problem)
        if (outcome := reauthentication_required(ctx)) is not None:
            return outcome
        account = lock_account(ctx, account)
        if not accounts.has_password(account.user):  # deleted by a concurrent request
            return ctx.error(errors.OPERATION_NOT_PERMITTED)
        passwords.set_password(account, raw)
        notifications.notify(account, emails.PASSWORD_UPDATE, env=ctx.env)
        audit.record(
            audit.PASSWORD_CHANGED,
            env=ctx.env,
            account=account,
            details={"context": "profile", "flow_id": ctx.flow_id},
        )
        webhooks.user_changed(webhooks.events.USER_PASSWORD_UPDATE, account, env=ctx.env)
        # Hanko: other sessions survive a password change. They end here, the current one
        # stays (security-checks PW-07, SE-07; ASVS 7.4.3), with reason credential_reset.
        passwords.end_other_sessions(
            account,
            keep=current_session_id(ctx),
            env=ctx.env,
            audit_details={"context": "profile", "flow_id": ctx.flow_id},
        )
        return ctx.continue_to(n.STATE_PROFILE_INIT)


# --- metadata -----------------------------------------------------------------------------------


class PatchMetadata(Action):
    name = n.ACTION_PATCH_METADATA
    description = "Patch the (unsafe) metadata of the user"

    def initialize(self, setup: ActionSetup) -> None:
        setup.add_input(i.json("patch_metadata", required=True, hidden=False))

    def execute(self, ctx: FlowContext) -> Outcome:
        # No input validation, as in Hanko: the value itself decides.
        # Hanko: reads the value as text, so a JSON null reads as empty and is refused; we take
        # null as null (clear), as the error's own wording promises.
        try:
            change = metadata.parse_patch(ctx.input("patch_metadata", ""))
        except metadata.MetadataInvalid as exc:
            return ctx.input_error("patch_metadata", errors.INVALID_METADATA.with_cause(exc.cause))
        account = account_of(ctx)
        if account is None:
            return ctx.error(errors.OPERATION_NOT_PERMITTED)
        account = lock_account(ctx, account)  # two patches at once must not lose one
        try:
            metadata.patch(account, metadata.UNSAFE, change)
        except metadata.MetadataInvalid as exc:
            return ctx.input_error("patch_metadata", errors.INVALID_METADATA.with_cause(exc.cause))
        return ctx.continue_to(n.STATE_PROFILE_INIT)


# --- usernames ----------------------------------------------------------------------------------


def can_delete_username(account: accounts.Account) -> bool:
    """Row #15: usernames optional, the account has one, and an email or a passkey.

    Hanko: stops there; an address that is no login identifier (or a config without passcodes)
    can leave a password with nothing to type before it. The account must also be able to sign
    in without the username here.
    """
    if not (settings.USERNAME.ENABLED and settings.USERNAME.OPTIONAL):
        return False
    have = login_methods.Credentials.of(account)
    has_passkey_login = settings.PASSKEY.ENABLED and have.passkeys > 0
    return (
        have.username
        and (have.emails > 0 or has_passkey_login)
        and login_methods.can_sign_in(have, without_username=True)
    )


class UsernameCreate(Action):
    name = n.ACTION_USERNAME_CREATE
    description = "Create a new username."
    replaces = False

    def initialize(self, setup: ActionSetup) -> None:
        account = session_account(setup)
        if not settings.USERNAME.ENABLED or account is None:
            setup.suspend()
            return
        if (accounts.username_of(account) is not None) != self.replaces:
            setup.suspend()  # username_update / username_create instead
            return
        setup.add_input(username_input())

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        account = account_of(ctx)
        if account is None:
            return ctx.error(errors.OPERATION_NOT_PERMITTED)
        username = ctx.input("username", "")
        if not USERNAME_PATTERN.fullmatch(username):
            return ctx.input_error("username", errors.INVALID_USERNAME)
        current = accounts.username_of(account)
        if current is not None and current.username == username:
            # Hanko: answers username_already_exists for the user's own current username (it
            # compares the username row's id with the user id). Keeping it is no conflict: the
            # step succeeds and changes nothing.
            return ctx.continue_to(n.STATE_PROFILE_INIT)
        try:
            accounts.set_username(account, username)
        except accounts.UsernameAlreadyExists:
            return ctx.input_error("username", errors.USERNAME_ALREADY_EXISTS)
        audit.record(
            audit.USERNAME_CHANGED,
            env=ctx.env,
            account=account,
            details={"username": username, "flow_id": ctx.flow_id},
        )
        event = (
            webhooks.events.USER_USERNAME_UPDATE
            if self.name == n.ACTION_USERNAME_UPDATE
            else webhooks.events.USER_USERNAME_CREATE
        )
        webhooks.user_changed(event, account, env=ctx.env)
        return ctx.continue_to(n.STATE_PROFILE_INIT)


class UsernameDelete(Action):
    name = n.ACTION_USERNAME_DELETE
    description = "Delete the username of a user."

    def initialize(self, setup: ActionSetup) -> None:
        account = session_account(setup)
        if account is None or not can_delete_username(account):
            setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        account = account_of(ctx)
        if account is None:
            return ctx.error(errors.OPERATION_NOT_PERMITTED)
        account = lock_account(ctx, account)
        current = accounts.username_of(account)
        if current is None or not can_delete_username(account):  # a concurrent change won
            return ctx.error(errors.OPERATION_NOT_PERMITTED)
        accounts.delete_username(account)
        audit.record(
            audit.USERNAME_DELETED,
            env=ctx.env,
            account=account,
            details={"username": current.username, "flow_id": ctx.flow_id},
        )
        webhooks.user_changed(webhooks.events.USER_USERNAME_DELETE, account, env=ctx.env)
        return ctx.continue_to(n.STATE_PROFILE_INIT)


class UsernameUpdate(UsernameCreate):
    name = n.ACTION_USERNAME_UPDATE
    description = "Update an existing username."
    replaces = True
