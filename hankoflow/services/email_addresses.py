"""The email addresses of an account as its owner manages them in the profile flow
(flow-api.md §4.3.2 #3-#6): which may be deleted, making one primary, deleting one.

Adding an address is ``accounts.add_email``. Callers that delete an address or move the primary
marker take ``accounts.lock(account)`` first and decide on the account it returns, so that two
concurrent requests cannot both remove what the other one counted on.
"""

from __future__ import annotations

import uuid

from django.db import transaction

from hankoflow.adapter import get_adapter
from hankoflow.conf import settings
from hankoflow.models import Account, Email
from hankoflow.services import accounts


def listed(account_id: str | uuid.UUID | None) -> list[Email]:
    """The account's addresses, fresh from the database (one query; none for a bad id)."""
    key = _uuid(account_id)
    if key is None:
        return []
    return list(Email.objects.filter(account_id=key))


def find(account: Account, email_id: object) -> Email | None:
    """The account's address with this id; None for another account's, an unknown or a
    malformed id."""
    key = _uuid(email_id)
    if key is None:
        return None
    return next((email for email in account.emails.all() if email.pk == key), None)


def primary(account: Account) -> Email | None:
    return next((email for email in account.emails.all() if email.is_primary), None)


def deletable(account: Account) -> list[Email]:
    """The addresses the owner may delete (flow-api.md §4.3.2, "Deletable emails").

    The primary address only when it is the last one, emails are optional and the owner can
    still sign in without any address (a passkey, or a password with a username). Another
    address when the owner signs in with a passkey, a password or an email passcode, and one
    way in remains without it.
    """
    emails = list(account.emails.all())
    facts = accounts.facts(account, emails)
    passkey_login = settings.PASSKEY.ENABLED and facts.has_passkey
    password_login = settings.PASSWORD.ENABLED and facts.has_password
    passcode_login = settings.EMAIL.ENABLED and settings.EMAIL.USE_FOR_AUTHENTICATION
    username_login = (
        password_login
        and settings.USERNAME.ENABLED
        and settings.USERNAME.USE_AS_LOGIN_IDENTIFIER
        and facts.has_username
    )
    without_address = passkey_login or username_login
    found = []
    for email in emails:
        if email.is_primary:
            if len(emails) == 1 and settings.EMAIL.OPTIONAL and without_address:
                found.append(email)
        # Hanko: allows a non-primary address whenever one of the three logins works, counting
        # on the primary address to remain. An account without a primary (imported, or its
        # primary deleted) could so lose its last address and every way in; we also require
        # another address to remain or a way in that needs none.
        elif (passkey_login or password_login or passcode_login) and (
            len(emails) > 1 or without_address
        ):
            found.append(email)
    return found


def set_primary(account: Account, email: Email) -> Email | None:
    """Make ``email`` (one of the account's) the primary address and copy it to the Django
    user's email field (``adapter.set_user_email``); returns the previous primary, if any."""
    previous = primary(account)
    with transaction.atomic():
        # Clear the old marker first: one primary per account is a unique constraint.
        Email.objects.filter(account=account, is_primary=True).exclude(pk=email.pk).update(
            is_primary=False
        )
        Email.objects.filter(pk=email.pk, account=account).update(is_primary=True)
        get_adapter().set_user_email(account.user, email.address)
    accounts.forget_cached(account)
    return previous if previous is not None and previous.pk != email.pk else None


def delete(account: Account, email: Email) -> bool:
    """Delete one of the account's addresses (its primary marker goes with it); False when it
    was gone already."""
    deleted, _ = Email.objects.filter(pk=email.pk, account=account).delete()
    accounts.forget_cached(account)
    return bool(deleted)


def _uuid(value: object) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
