"""Who a third-party sign-in belongs to: sign-in, linking or sign-up (platform.md §9.4).

1. The identity (provider, subject) exists: sign in its account. A new provider address is
   added to the account; one that belongs to another account is refused (``multiple_accounts``).
2. No identity, but an account has the provider's address: link the identity to it, when the
   provider allows linking (``ALLOW_LINKING``, else ``user_conflict``) and the provider says the
   address is verified (else ``unverified_email``).
3. Nothing found: sign up (``ACCOUNT.ALLOW_SIGNUP`` and the adapter's ``is_signup_allowed``,
   else ``signup_disabled``) with the provider's address as primary email.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from hankoflow.adapter import get_adapter
from hankoflow.conf import settings
from hankoflow.engine import RequestFacts
from hankoflow.models import Account, Identity
from hankoflow.services import accounts, audit, events, webhooks
from hankoflow.services.thirdparty.backends import ProviderUser
from hankoflow.services.thirdparty.providers import Provider

SIGN_IN = "signin"
LINK = "linking"
SIGN_UP = "signup"


class LinkRefused(Exception):
    """A rule of §9.4 refuses the sign-in; ``code`` is Hanko's error code for the redirect."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@dataclass(frozen=True)
class Linked:
    account: Account
    identity: Identity
    outcome: str  # SIGN_IN, LINK or SIGN_UP

    @property
    def user_created(self) -> bool:
        return self.outcome == SIGN_UP


def resolve(provider: Provider, person: ProviderUser, *, env: RequestFacts | None) -> Linked:
    """Find or create the account for ``person``; audit what happened. ``LinkRefused`` when a
    rule says no (the caller audits the failure: nothing of this attempt is kept)."""
    if not person.email:
        raise LinkRefused("invalid_request", f"unable to find email with {provider.id} provider")
    identity = (
        Identity.objects.select_related("account")
        .filter(provider_id=provider.id, subject=person.subject)
        .first()
    )
    if identity is not None:
        linked = _sign_in(identity, person)
        event = audit.THIRDPARTY_SIGNIN_SUCCEEDED
    else:
        owner = accounts.find_by_email(person.email)
        if owner is not None:
            linked = _link(provider, owner, person)
            event = audit.THIRDPARTY_LINKING_SUCCEEDED
        else:
            linked = _sign_up(provider, person, env)
            event = audit.THIRDPARTY_SIGNUP_SUCCEEDED
    if not getattr(linked.account.user, "is_active", True):
        # Hanko has no deactivated users; a session for one would be refused anyway.
        raise LinkRefused("access_denied", "the account is deactivated")
    audit.record(
        event,
        env=env,
        account=linked.account,
        details={"provider": provider.id, "identity_id": str(linked.identity.id)},
    )
    if linked.outcome == SIGN_UP:
        events.user_registered(linked.account, env=env)
        webhooks.user_changed(webhooks.events.USER_CREATE, linked.account)  # Hanko: no ua/ip
    return linked


def _sign_in(identity: Identity, person: ProviderUser) -> Linked:
    account = identity.account
    if person.email != identity.email:
        owner = accounts.find_by_email(person.email)
        if owner is not None and owner.pk != account.pk:
            raise LinkRefused("multiple_accounts", "multiple accounts with the same email address")
        if owner is None:
            if account.emails.count() >= settings.EMAIL.LIMIT:
                raise LinkRefused("email_maxnum", "max number of email addresses reached")
            try:
                accounts.add_email(account, person.email, verified=person.email_verified)
            except accounts.EmailAlreadyExists:
                raise LinkRefused(
                    "multiple_accounts", "multiple accounts with the same email address"
                ) from None
            webhooks.user_changed(webhooks.events.USER_EMAIL_CREATE, account)
    _update(identity, person)
    return Linked(account=account, identity=identity, outcome=SIGN_IN)


def _link(provider: Provider, account: Account, person: ProviderUser) -> Linked:
    if not provider.allow_linking:
        raise LinkRefused("user_conflict", "third party account linking for existing user denied")
    if not person.email_verified:
        # Hanko: the flow path links an unverified provider address too and relies on a passcode
        # later; we never attach an identity to an account on an address nobody has verified.
        raise LinkRefused("unverified_email", "third party provider email must be verified")
    try:
        with transaction.atomic():
            identity = _create(account, provider, person)
    except IntegrityError:
        # A concurrent callback linked the same identity first; the person can simply retry.
        raise LinkRefused("invalid_request", "identity already exists") from None
    return Linked(account=account, identity=identity, outcome=LINK)


def _sign_up(provider: Provider, person: ProviderUser, env: RequestFacts | None) -> Linked:
    request = getattr(env, "request", None)
    allowed = settings.ACCOUNT.ALLOW_SIGNUP and get_adapter().is_signup_allowed(
        request, person.email, None
    )
    if not allowed:
        raise LinkRefused("signup_disabled", "account signup is disabled")
    try:
        with transaction.atomic():
            account = accounts.create(
                uuid.uuid4(),
                email=person.email,
                email_verified=person.email_verified,
                username=None,
                password_hash=None,
            )
            identity = _create(account, provider, person)
    except (accounts.EmailAlreadyExists, IntegrityError):
        # Someone took the address or the identity meanwhile; the person can simply retry.
        raise LinkRefused("invalid_request", "account already exists") from None
    return Linked(account=account, identity=identity, outcome=SIGN_UP)


def _create(account: Account, provider: Provider, person: ProviderUser) -> Identity:
    return Identity.objects.create(
        account=account,
        provider_id=provider.id,
        subject=person.subject,
        email=person.email,
        email_verified=person.email_verified,
        data=person.data,
    )


def _update(identity: Identity, person: ProviderUser) -> None:
    identity.email = person.email
    identity.email_verified = person.email_verified
    identity.data = person.data
    identity.save(update_fields=["email", "email_verified", "data", "updated_at"])
