"""What the admin API does to users (platform.md §4.3.2): create one with its emails and
username, change its username and name fields, delete it — in one transaction each, through the
services the flows use, with an audit entry whose details name the API key.

The views check the shape of a request (types, Hanko's messages); the rules that need the
database (conflicts) are here and raise ``Conflict``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from hankoflow.engine import RequestFacts
from hankoflow.models import Account, Email
from hankoflow.services import accounts, audit, webhooks
from hankoflow.services.account_deletion import delete_account

NAME_FIELDS = ("name", "given_name", "family_name", "picture")
UNSET: Any = object()
"""A field the caller left out (``None`` clears it)."""


class Conflict(Exception):
    """A user id, address or username another user has (409)."""


@dataclass(frozen=True)
class NewEmail:
    address: str
    is_primary: bool
    is_verified: bool


def create_user(
    *,
    user_id: uuid.UUID | None,
    emails: list[NewEmail],
    username: str | None,
    created_at: datetime | None,
    env: RequestFacts | None,
    audit_details: dict[str, Any],
) -> Account:
    """A new user with ``emails`` (exactly one primary, when any) and ``username``; ``Conflict``
    when the id, an address or the username is taken."""
    user_id = user_id or uuid.uuid4()
    primary = next((e for e in emails if e.is_primary), None)
    try:
        with transaction.atomic():
            if Account.objects.filter(pk=user_id).exists():
                raise Conflict("user already exists")
            for email in emails:
                if accounts.email_exists(email.address):
                    raise Conflict("email address already exists")
            if username and accounts.username_exists(username):
                raise Conflict("username already exists")
            account = accounts.create(
                user_id,
                email=primary.address if primary else None,
                email_verified=primary.is_verified if primary else False,
                username=username,
                password_hash=None,
            )
            for email in emails:
                if email is not primary:
                    Email.objects.create(
                        account=account,
                        address=accounts.normalise_email(email.address),
                        is_verified=email.is_verified,
                        is_primary=False,
                    )
            if created_at is not None:
                Account.objects.filter(pk=account.pk).update(created_at=created_at)
            account = accounts.get(account.pk) or account
            details = {**audit_details, **({"username": username} if username else {})}
            audit.record(audit.USER_CREATED, env=env, account=account, details=details)
            # Hanko: the admin user.create payload has no user agent or IP address (§5.4).
            webhooks.user_changed(webhooks.events.USER_CREATE, account)
    except accounts.EmailAlreadyExists as exc:
        raise Conflict("email address already exists") from exc
    except accounts.UsernameAlreadyExists as exc:
        raise Conflict("username already exists") from exc
    except IntegrityError as exc:
        # A rival request took the id, an address or the username between check and write.
        raise Conflict("user already exists") from exc
    return account


def update_user(
    account: Account,
    changes: dict[str, str | None],
    *,
    env: RequestFacts | None,
    audit_details: dict[str, Any],
) -> Account:
    """Apply ``changes`` (``username`` and ``NAME_FIELDS``; None clears); ``updated_at`` moves
    only when something changed. ``Conflict`` when the username is another user's."""
    with transaction.atomic():
        account = accounts.lock(account)
        changed: list[str] = []
        if "username" in changes:
            _change_username(account, changes["username"], env=env, audit_details=audit_details)
        for field in NAME_FIELDS:
            if field in changes and getattr(account, field) != (changes[field] or ""):
                setattr(account, field, changes[field] or "")
                changed.append(field)
        if changed:
            account.save(update_fields=[*changed, "updated_at"])
    accounts.forget_cached(account)
    return accounts.get(account.pk) or account


def _change_username(
    account: Account, name: str | None, *, env: RequestFacts | None, audit_details: dict[str, Any]
) -> None:
    current = accounts.username_of(account)
    if name is None:
        if current is not None and accounts.delete_username(account):
            details = {**audit_details, "username": current.username}
            audit.record(audit.USERNAME_DELETED, env=env, account=account, details=details)
            _touch(account)
        return
    if current is not None and current.username == name:
        return
    try:
        with transaction.atomic():
            accounts.set_username(account, name)
    except (accounts.UsernameAlreadyExists, IntegrityError) as exc:
        raise Conflict("username already exists") from exc
    details = {**audit_details, "username": name}
    audit.record(audit.USERNAME_CHANGED, env=env, account=account, details=details)
    _touch(account)


def _touch(account: Account) -> None:
    account.save(update_fields=["updated_at"])


def delete_user(
    account: Account, *, env: RequestFacts | None, audit_details: dict[str, Any]
) -> None:
    """Delete the user as the profile's ``account_delete`` does (platform.md §1.21)."""
    # Hanko: its admin deletion writes no audit entry; ours names the API key.
    delete_account(account, env=env, audit_details=audit_details)
