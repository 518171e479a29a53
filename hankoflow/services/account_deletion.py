"""Deleting an account (platform.md §1.21): by its owner in the profile flow, by staff in Django
admin, and later by the admin API and ``DELETE /me``, all through ``delete_account``.

One transaction: the account row is locked, every session ends (each announced with
``session_revoked``), the audit entry and ``signals.account_deleted`` are written while the data
is still there, then the account and everything hanging off it (emails, username, credentials,
passcodes, sessions, trusted devices, metadata) are deleted by the database's cascade, and the
adapter deletes the Django user. Audit entries stay (they keep the user id, not a foreign key).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from hankoflow import signals
from hankoflow.adapter import get_adapter
from hankoflow.engine import RequestFacts
from hankoflow.models import Account
from hankoflow.services import audit, webhooks
from hankoflow.services.sessions import revoke_all


def delete_account(
    account: Account,
    *,
    env: RequestFacts | None,
    by_staff: AbstractBaseUser | None = None,
    audit_details: dict[str, Any] | None = None,
) -> None:
    """Delete ``account`` and its Django user; ``by_staff`` names the staff member acting
    (None: the person deleted their own account)."""
    request = env.request if env is not None else None
    with transaction.atomic():
        account = Account.objects.select_for_update().select_related("user").get(pk=account.pk)
        user = account.user
        revoke_all(
            account, reason=signals.REASON_ACCOUNT_DELETED, env=env, audit_details=audit_details
        )
        audit.record(audit.USER_DELETED, env=env, account=account, details=audit_details)
        webhooks.user_deleted(account)  # described as it was, before the deletion
        signals.account_deleted.send(
            sender=Account, account=account, user=user, by_staff=by_staff, request=request
        )
        account.delete()
        get_adapter().delete_user(user)
