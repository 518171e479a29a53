"""Profile actions on email addresses (flow-api.md §4.3.2 #3-#6, "Deletable emails";
client-contract.md §4.1).

Each action decides what it offers from the session user fresh from the database, and decides
what it does on the account it locked (``accounts.lock``): a request acting on an address that
a concurrent one removed meanwhile is refused rather than half applied. A new address is
verified by a passcode (``passcode_confirmation``) when ``EMAIL.REQUIRE_VERIFICATION`` is on;
the profile branch of ``hooks.credentials.EmailPersistVerifiedStatus`` then stores it.
"""

from __future__ import annotations

from hankoflow import emails as kinds
from hankoflow import errors
from hankoflow import names as n
from hankoflow.actions.profile.reauthentication import reauthentication_required
from hankoflow.conf import settings
from hankoflow.engine import Action, ActionSetup, AllowedValue, FlowContext, Outcome
from hankoflow.engine import inputs as i
from hankoflow.models import Account, Email
from hankoflow.services import accounts, audit, email_addresses, notifications, webhooks
from hankoflow.steps import account_of, lock_account, session_account


def _email_id_input(**options: object) -> i.Input:
    return i.string("email_id", required=True, hidden=True, **options)


def _verify_by_passcode(ctx: FlowContext, account: Account, address: str, template: str) -> None:
    """Stash what ``passcode_confirmation`` sends and the profile hook stores."""
    ctx.stash.set(n.STASH_EMAIL, address)
    ctx.stash.set(n.STASH_USER_ID, str(account.id))
    ctx.stash.set(n.STASH_PASSCODE_TEMPLATE, template)
    # An earlier verification in this flow left it true; only this address's code may set it.
    ctx.stash.set(n.STASH_EMAIL_VERIFIED, False)


def _audit(ctx: FlowContext, kind: str, account: Account, address: str) -> None:
    details = {"email": address, "flow_id": ctx.flow_id}
    audit.record(kind, env=ctx.env, account=account, details=details)
    webhooks.user_changed(_WEBHOOK_EVENTS[kind], account, env=ctx.env)


_WEBHOOK_EVENTS = {
    audit.EMAIL_CREATED: webhooks.events.USER_EMAIL_CREATE,
    audit.EMAIL_DELETED: webhooks.events.USER_EMAIL_DELETE,
    audit.PRIMARY_EMAIL_CHANGED: webhooks.events.USER_EMAIL_PRIMARY,
}


class EmailCreate(Action):
    name = n.ACTION_EMAIL_CREATE
    description = "Create an email address for the current session user."

    def initialize(self, setup: ActionSetup) -> None:
        if not settings.EMAIL.ENABLED:
            setup.suspend()
            return
        if len(_listed(setup)) >= settings.EMAIL.LIMIT:
            setup.suspend()
            return
        setup.add_input(
            i.email(
                "email",
                required=True,
                max_length=settings.EMAIL.MAX_LENGTH,
                trim_space=True,
                lower_case=True,
            )
        )

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        account = account_of(ctx)
        if account is None:
            return ctx.error(errors.OPERATION_NOT_PERMITTED)
        if (outcome := reauthentication_required(ctx)) is not None:
            return outcome
        address = accounts.normalise_email(ctx.input("email"))
        owner = accounts.find_by_email(address)
        if owner is not None:
            if (
                owner.pk == account.pk
                or not settings.EMAIL.REQUIRE_VERIFICATION
                or settings.PRIVACY.SHOW_ACCOUNT_EXISTENCE_HINTS
            ):
                return ctx.input_error("email", errors.EMAIL_ALREADY_EXISTS)
            # Privacy: the address is someone else's. The page looks like a verification, the
            # owner gets a notice without a code, and no code can ever add it here (a dead end,
            # as in Hanko; the profile hook refuses it even after a lucky guess).
            _verify_by_passcode(ctx, account, address, n.TEMPLATE_EMAIL_REGISTRATION_ATTEMPTED)
            return ctx.continue_to(n.STATE_PASSCODE_CONFIRMATION)
        if settings.EMAIL.REQUIRE_VERIFICATION:
            _verify_by_passcode(ctx, account, address, n.TEMPLATE_EMAIL_VERIFICATION)
            return ctx.continue_to(n.STATE_PASSCODE_CONFIRMATION, n.STATE_PROFILE_INIT)
        account = lock_account(ctx, account)
        if any(email.address == address for email in account.emails.all()):
            return ctx.input_error("email", errors.EMAIL_ALREADY_EXISTS)  # added meanwhile
        if len(account.emails.all()) >= settings.EMAIL.LIMIT:
            return ctx.error(errors.OPERATION_NOT_PERMITTED)  # a rival request added one
        before = email_addresses.primary(account)
        try:
            accounts.add_email(account, address, verified=False)
        except accounts.EmailAlreadyExists:
            return ctx.input_error("email", errors.EMAIL_ALREADY_EXISTS)
        _audit(ctx, audit.EMAIL_CREATED, account, address)
        if before is not None:  # with no primary before, the new address is the primary now
            notifications.notify(
                account,
                kinds.EMAIL_CREATE,
                env=ctx.env,
                to=before.address,
                context={"new_email": address},
            )
        return ctx.continue_to(n.STATE_PROFILE_INIT)


class EmailDelete(Action):
    name = n.ACTION_EMAIL_DELETE
    description = "Delete an email address."

    def initialize(self, setup: ActionSetup) -> None:
        # hanko-elements reads this input for every listed address: always declare it, even
        # with no address deletable (then it has no allowed values; execute still checks).
        account = session_account(setup)
        if account is None:
            setup.suspend()
            return
        allowed = tuple(
            AllowedValue(value=str(email.pk), name=email.address)
            for email in email_addresses.deletable(account)
        )
        setup.add_input(_email_id_input(allowed_values=allowed))

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        account = account_of(ctx)
        if account is None:
            return ctx.error(errors.OPERATION_NOT_PERMITTED)
        email = email_addresses.find(account, ctx.input("email_id"))
        if email is None:
            return ctx.error(errors.FORM_DATA_INVALID)  # not one of the user's addresses
        if email.is_primary and not settings.EMAIL.OPTIONAL:
            return ctx.error(errors.OPERATION_NOT_PERMITTED)
        if (outcome := reauthentication_required(ctx)) is not None:
            return outcome
        account = lock_account(ctx, account)
        email = email_addresses.find(account, email.pk)
        if email is None:
            return ctx.error(errors.FORM_DATA_INVALID)  # deleted meanwhile
        # Hanko: checks only the input's allowed values, which let anything through when no
        # address is deletable; we apply the rule itself, to the locked account.
        if email not in email_addresses.deletable(account):
            return ctx.error(errors.OPERATION_NOT_PERMITTED)
        before = email_addresses.primary(account)
        email_addresses.delete(account, email)
        _audit(ctx, audit.EMAIL_DELETED, account, email.address)
        if before is not None:
            notifications.notify(
                account,
                kinds.EMAIL_DELETE,
                env=ctx.env,
                to=before.address,
                context={"deleted_email": email.address},
            )
        return ctx.continue_to(n.STATE_PROFILE_INIT)


class EmailSetPrimary(Action):
    name = n.ACTION_EMAIL_SET_PRIMARY
    description = "Sets a an email address as the primary email address."

    def initialize(self, setup: ActionSetup) -> None:
        if not settings.EMAIL.ENABLED:
            setup.suspend()
            return
        listed = _listed(setup)
        if not listed or (len(listed) == 1 and listed[0].is_primary):
            setup.suspend()
            return
        setup.add_input(_email_id_input())

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        account = account_of(ctx)
        if account is None:
            return ctx.error(errors.OPERATION_NOT_PERMITTED)
        email = email_addresses.find(account, ctx.input("email_id"))
        if email is None:
            return ctx.error(errors.NOT_FOUND)
        if email.is_primary:
            return ctx.continue_to(n.STATE_PROFILE_INIT)
        if settings.EMAIL.REQUIRE_VERIFICATION and not email.is_verified:
            # Hanko: makes any of the user's addresses primary, verified or not. The primary
            # receives passcodes and security notifications and becomes the Django user's
            # email: when verification is required, it must be verified first (email_verify).
            return ctx.error(errors.OPERATION_NOT_PERMITTED)
        if (outcome := reauthentication_required(ctx)) is not None:
            return outcome
        account = lock_account(ctx, account)
        email = email_addresses.find(account, email.pk)
        if email is None:
            return ctx.error(errors.NOT_FOUND)  # deleted meanwhile
        if email.is_primary:
            return ctx.continue_to(n.STATE_PROFILE_INIT)
        previous = email_addresses.set_primary(account, email)
        _audit(ctx, audit.PRIMARY_EMAIL_CHANGED, account, email.address)
        if previous is not None:
            # Hanko: switched on by the ``email_create`` notification's setting; ours has its own.
            notifications.notify(
                account,
                kinds.PRIMARY_EMAIL_UPDATE,
                env=ctx.env,
                to=previous.address,
                context={"old_email": previous.address, "new_email": email.address},
            )
        return ctx.continue_to(n.STATE_PROFILE_INIT)


class EmailVerify(Action):
    name = n.ACTION_EMAIL_VERIFY
    description = "Verify an email."

    def initialize(self, setup: ActionSetup) -> None:
        if not settings.EMAIL.ENABLED:
            setup.suspend()
            return
        listed = _listed(setup)
        if all(email.is_verified for email in listed):
            setup.suspend()
            return
        setup.add_input(_email_id_input())

    def execute(self, ctx: FlowContext) -> Outcome:
        if not ctx.validate_inputs():
            return ctx.error(errors.FORM_DATA_INVALID)
        account = account_of(ctx)
        if account is None:
            return ctx.error(errors.OPERATION_NOT_PERMITTED)
        email = email_addresses.find(account, ctx.input("email_id"))
        if email is None:
            return ctx.error(errors.NOT_FOUND)
        _verify_by_passcode(ctx, account, email.address, n.TEMPLATE_EMAIL_VERIFICATION)
        return ctx.continue_to(n.STATE_PASSCODE_CONFIRMATION, n.STATE_PROFILE_INIT)


def _listed(setup: ActionSetup) -> list[Email]:
    """The session user's addresses as the profile hooks loaded them for this step."""
    account = session_account(setup)
    return list(account.emails.all()) if account is not None else []
