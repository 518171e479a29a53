"""Hanko's admin User object (platform.md §4.3, ``backend/dto/admin/user.go``): the body of the
admin API's user endpoints and the ``data`` of ``user.*`` webhooks (§5.4).

Unlike the profile's ``user`` (``services/profile.py``) it lists every WebAuthn credential (with
``mfa_only``), the emails with their timestamps, the identities, the OTP secret's id and all
three metadata categories; never a password hash, an OTP secret or key material beyond
``public_key``.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from hankoflow.engine import RequestFacts
from hankoflow.models import Account, AuditLogEntry
from hankoflow.services import accounts, audit, metadata, webauthn
from hankoflow.services.accounts import rfc3339


def admin_user(
    account: Account, *, full: bool = True, env: RequestFacts | None = None
) -> dict[str, Any]:
    """The admin User object of ``account``. ``full=False``: the list shape of ``GET /users``
    (no password, OTP, identities or metadata). ``env``: webhook payloads made from a request
    carry its ``user_agent`` and ``ip_address``."""
    data: dict[str, Any] = {"id": str(account.id)}
    credentials = [webauthn.credential_dto(c) for c in webauthn.credentials_of(account)]
    if credentials:
        data["webauthn_credentials"] = credentials
    emails = list(account.emails.all())
    if emails:
        data["emails"] = [
            {
                "id": str(e.id),
                "address": e.address,
                "is_verified": e.is_verified,
                "is_primary": e.is_primary,
                "created_at": rfc3339(e.created_at),
                "updated_at": rfc3339(e.updated_at),
            }
            for e in emails
        ]
    username = accounts.username_of(account)
    if username is not None:
        data["username"] = {
            "id": str(username.id),
            "username": username.username,
            "created_at": rfc3339(username.created_at),
            "updated_at": rfc3339(username.updated_at),
        }
    data["created_at"] = rfc3339(account.created_at)
    data["updated_at"] = rfc3339(account.updated_at)
    if full:
        data.update(_full_parts(account))
    if env is not None:
        if env.ip:
            data["ip_address"] = env.ip
        if env.user_agent:
            data["user_agent"] = env.user_agent
    for key in ("given_name", "family_name", "name", "picture"):
        if value := getattr(account, key, ""):
            data[key] = value
    return data


def _full_parts(account: Account) -> dict[str, Any]:
    parts: dict[str, Any] = {}
    identities = list(account.identities.all())
    if identities:
        # Hanko's naming inversion: provider_id holds the provider's user id.
        parts["identities"] = [
            {
                "id": str(i.id),
                "provider_id": i.subject,
                "provider_name": i.provider_id,
                "created_at": rfc3339(i.created_at),
                "updated_at": rfc3339(i.updated_at),
            }
            for i in identities
        ]
    password = password_object(account)
    if password is not None:
        parts["password"] = password
    otp = accounts.otp_secret_of(account)
    if otp is not None:
        parts["otp"] = {"id": str(otp.id), "created_at": rfc3339(otp.created_at)}
    stored = {c: metadata.read(account, c) for c in metadata.CATEGORIES}
    if any(v is not None for v in stored.values()):
        parts["metadata"] = {k: v for k, v in stored.items() if v is not None}
    return parts


def password_object(account: Account) -> dict[str, Any] | None:
    """Hanko's Password object ``{"id", "created_at", "updated_at"}`` (never the hash), or None
    when the user has no usable password.

    The password lives on the Django user, which keeps neither an id nor dates for it. ``id`` is
    derived from the user id (a version-4-shaped UUID, stable while the user exists, the same
    after the password changes as Hanko's is); ``updated_at`` is the newest password change in
    the audit log (``password_changed``), else the account's creation, as is ``created_at``.
    Hanko: a row of its own with its own dates; its ``tenant_id`` is left out (no tenants here).
    """
    user = account.user
    if not accounts.has_password(user):
        return None
    digest = hashlib.sha256(f"hankoflow:password:{account.pk}".encode()).digest()
    changed = (
        AuditLogEntry.objects.filter(actor_user_id=account.pk, type=audit.PASSWORD_CHANGED)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return {
        "id": str(uuid.UUID(bytes=digest[:16], version=4)),
        "created_at": rfc3339(account.created_at),
        "updated_at": rfc3339(max(changed, account.created_at) if changed else account.created_at),
    }
