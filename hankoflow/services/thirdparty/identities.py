"""An account's third-party identities as the profile sees them (flow-api.md §4.3.2 #21, #22,
§4.6.1): which ones count, which providers can still be connected, connecting one from the
callback of a profile's ``connect_thirdparty_oauth_provider`` and disconnecting one.

An identity of a provider that is switched off (or no longer works) stays stored but counts for
nothing: it is not listed, cannot sign in and is not a way in for ``login_methods``.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import IntegrityError, transaction

from hankoflow import signals
from hankoflow.engine import RequestFacts
from hankoflow.models import Account, Identity
from hankoflow.services import accounts, audit, events
from hankoflow.services.thirdparty import linking, providers
from hankoflow.services.thirdparty.backends import ProviderUser
from hankoflow.services.thirdparty.providers import Provider


def enabled_of(account: Account) -> list[Identity]:
    """The account's identities of enabled providers, oldest first."""
    ids = [p.id for p in providers.enabled()]
    if not ids:
        return []
    return list(Identity.objects.filter(account=account, provider_id__in=ids))


def connectable(account: Account) -> list[Provider]:
    """Enabled providers the account has no identity of, in the order they are offered."""
    taken = set(Identity.objects.filter(account=account).values_list("provider_id", flat=True))
    return [p for p in providers.enabled() if p.id not in taken]


def find(account: Account, identity_id: Any) -> Identity | None:
    """The account's identity ``identity_id`` (a UUID string), or None (not a UUID, not its)."""
    if not isinstance(identity_id, str):
        return None
    try:
        pk = uuid.UUID(identity_id)
    except ValueError:
        return None
    return Identity.objects.filter(account=account, pk=pk).first()


def profile_dto(identities: list[Identity]) -> list[dict[str, str]]:
    """``user.identities`` (§4.6.1): provider user id, the provider's display name, our id."""
    names = {p.id: p.display_name for p in providers.enabled()}
    return [
        {"id": i.subject, "provider": names[i.provider_id], "identity_id": str(i.id)}
        for i in identities
        if i.provider_id in names
    ]


def connect(
    provider: Provider, person: ProviderUser, user_id: str, *, env: RequestFacts | None
) -> linking.Linked:
    """Attach ``person``'s identity to the account that started the connect (the state's
    ``user_id``, platform.md §9.4 step 4). ``LinkRefused`` as the callback reports it.

    Hanko: creates the identity without a user here and attaches it in the profile's
    ``exchange_token``; identities here always belong to an account, so the callback attaches
    it and ``exchange_token`` confirms it for the same session user.
    """
    account = accounts.get(user_id) if user_id else None
    if account is None or not getattr(account.user, "is_active", True):
        raise linking.LinkRefused("invalid_request", "the account to connect is gone")
    if not provider.allow_linking:
        raise linking.LinkRefused(
            "user_conflict", "third party account linking for existing user denied"
        )
    existing = Identity.objects.filter(provider_id=provider.id, subject=person.subject).first()
    if existing is not None:
        if existing.account_id != account.pk:
            raise linking.LinkRefused(
                "invalid_request", "identity already exists for a different user"
            )
        # Hanko: the exchange answers technical_error; the callback says what happened.
        raise linking.LinkRefused("invalid_request", "identity already linked to this user")
    if Identity.objects.filter(account=account, provider_id=provider.id).exists():
        raise linking.LinkRefused("invalid_request", "provider already connected")
    try:
        with transaction.atomic():
            identity = Identity.objects.create(
                account=account,
                provider_id=provider.id,
                subject=person.subject,
                email=person.email,
                email_verified=person.email_verified,
                data=person.data,
            )
    except IntegrityError:
        raise linking.LinkRefused("invalid_request", "identity already exists") from None
    audit.record(
        audit.THIRDPARTY_LINKING_SUCCEEDED,
        env=env,
        account=account,
        details={"provider": provider.id, "identity_id": str(identity.id), "connect": True},
    )
    events.credential_added(account, signals.CREDENTIAL_THIRD_PARTY, str(identity.id), env=env)
    return linking.Linked(account=account, identity=identity, outcome=linking.LINK)


def disconnect(identity: Identity, *, env: RequestFacts | None = None) -> bool:
    """Delete the identity, record it and send ``credential_removed``; False when it was
    already gone."""
    with transaction.atomic():
        deleted, _ = Identity.objects.filter(pk=identity.pk).delete()
        if deleted:
            # Hanko: records nothing and has no type for it; a type of our own would not be in
            # the admin API's AuditLogTypes enum, so it is Hanko's linking type, marked as
            # the connect's entry is.
            audit.record(
                audit.THIRDPARTY_LINKING_SUCCEEDED,
                env=env,
                account=identity.account,
                details={
                    "provider": identity.provider_id,
                    "identity_id": str(identity.id),
                    "disconnect": True,
                },
            )
            events.credential_removed(
                identity.account,
                signals.CREDENTIAL_THIRD_PARTY,
                str(identity.id),
                request=env.request if env is not None else None,
            )
    return bool(deleted)
