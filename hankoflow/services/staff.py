"""What staff do to a user from Django admin, through the services the flows use.

Each function runs in one transaction, sends the signals those services send and writes an
audit entry whose details name the staff member (``staff_user``, ``staff_username``) and the
``admin_action``. ``staff`` is the Django user acting; ``env`` the admin request's facts (its IP
and user agent go into the entry).

Hanko: its audit types have no word for an operator's action (its admin API writes none for a
deletion); we record the nearest user event with the staff member in ``details``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from hankoflow import signals
from hankoflow.engine import RequestFacts
from hankoflow.models import Account, OTPSecret, Session, WebauthnCredential
from hankoflow.services import audit, totp
from hankoflow.services.account_deletion import delete_account
from hankoflow.services.sessions import revoke, revoke_all
from hankoflow.services.webauthn import delete_credential

REVOKE_SESSIONS = "revoke_sessions"
REVOKE_SESSION = "revoke_session"
REMOVE_CREDENTIAL = "remove_credential"
REMOVE_SECOND_FACTOR = "remove_second_factor"
DEACTIVATE = "deactivate"
DELETE = "delete"


def staff_details(staff: AbstractBaseUser, action: str) -> dict[str, Any]:
    """The audit details that name who acted, and how."""
    return {"admin_action": action, "staff_user": staff.pk, "staff_username": staff.get_username()}


def revoke_sessions(account: Account, *, staff: AbstractBaseUser, env: RequestFacts) -> int:
    """End every session of the account (and its trusted devices); the number ended."""
    return revoke_all(
        account,
        reason=signals.REASON_REVOKED,
        env=env,
        audit_details=staff_details(staff, REVOKE_SESSIONS),
    )


def revoke_session(session_id: str, *, staff: AbstractBaseUser, env: RequestFacts) -> bool:
    """End one session; False when it had already ended."""
    with transaction.atomic():
        session = Session.objects.select_related("account").filter(pk=session_id).first()
        if session is None or not revoke(session.pk, request=env.request):
            return False
        details = {"reason": signals.REASON_REVOKED, "session_ids": [str(session.pk)]}
        audit.record(
            audit.USER_LOGGED_OUT,
            env=env,
            account=session.account,
            details={**details, **staff_details(staff, REVOKE_SESSION)},
        )
    return True


def remove_credential(
    credential: WebauthnCredential, *, staff: AbstractBaseUser, env: RequestFacts
) -> bool:
    """Delete one passkey or security key; False when it was already gone."""
    with transaction.atomic():
        if not delete_credential(credential, request=env.request):
            return False
        _record_removal(credential.account, _kind(credential), credential.id, staff, env)
    return True


def remove_second_factor(account: Account, *, staff: AbstractBaseUser, env: RequestFacts) -> int:
    """Delete the account's authenticator app and security keys; the number removed."""
    removed = 0
    with transaction.atomic():
        for credential in WebauthnCredential.objects.filter(account=account, mfa_only=True):
            removed += remove_credential(credential, staff=staff, env=env)
        removed += remove_totp(account, staff=staff, env=env)
    return removed


def remove_totp(account: Account, *, staff: AbstractBaseUser, env: RequestFacts) -> bool:
    """Delete the account's authenticator app; False when it had none."""
    with transaction.atomic():
        secret_id = getattr(_otp_secret(account), "pk", None)
        if not totp.remove_secret(account, request=env.request):
            return False
        _record_removal(account, signals.CREDENTIAL_TOTP, str(secret_id), staff, env)
    return True


def deactivate(user: AbstractBaseUser, *, staff: AbstractBaseUser, env: RequestFacts) -> None:
    """Set ``is_active`` off and end the user's sessions: Django and hankoflow refuse the user."""
    with transaction.atomic():
        type(user)._default_manager.filter(pk=user.pk).update(is_active=False)
        user.is_active = False
        account = Account.objects.filter(user=user).first()
        if account is None:
            return
        details = staff_details(staff, DEACTIVATE)
        if not revoke_all(account, env=env, audit_details=details):
            # Nothing was revoked, so revoke_all wrote nothing: the deactivation still counts.
            audit.record(audit.USER_LOGGED_OUT, env=env, account=account, details=details)


def delete_user(user: AbstractBaseUser, *, staff: AbstractBaseUser, env: RequestFacts) -> None:
    """Delete the user and its account (``account_deletion.delete_account``); a user without
    an account is simply deleted."""
    with transaction.atomic():
        account = Account.objects.filter(user=user).first()
        if account is None:
            user.delete()
            return
        # Hanko: the admin API's deletion writes no entry; ours names the staff member.
        delete_account(account, env=env, by_staff=staff, audit_details=staff_details(staff, DELETE))


def _otp_secret(account: Account) -> OTPSecret | None:
    return OTPSecret.objects.filter(account=account).only("pk").first()


def _kind(credential: WebauthnCredential) -> str:
    return signals.CREDENTIAL_SECURITY_KEY if credential.mfa_only else signals.CREDENTIAL_PASSKEY


def _record_removal(
    account: Account, kind: str, credential_id: str, staff: AbstractBaseUser, env: RequestFacts
) -> None:
    # Hanko: passkey_deleted is its only credential-removal type; ``kind`` says which it was.
    details = {"kind": kind, "credential_id": credential_id}
    action = REMOVE_SECOND_FACTOR if kind == signals.CREDENTIAL_TOTP else REMOVE_CREDENTIAL
    audit.record(
        audit.PASSKEY_DELETED,
        env=env,
        account=account,
        details={**details, **staff_details(staff, action)},
    )
