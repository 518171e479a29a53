"""The ``user`` object Hanko's clients read (flow-api.md §4.6.1, the body of ``GET /me``): an
account with its emails, username, WebAuthn credentials and MFA configuration.

It sits above ``accounts`` and ``webauthn``, which both know nothing of it.
"""

from __future__ import annotations

from typing import Any

from hankoflow.conf import settings
from hankoflow.models import Account
from hankoflow.services import accounts, metadata, webauthn
from hankoflow.services.thirdparty import identities


def profile_data(account: Account) -> dict[str, Any]:
    """The ``user`` object of flow-api.md §4.6.1, also the body of ``GET /me``.

    ``identities`` lists those of enabled providers; ``name``, ``given_name``, ``family_name``
    and ``picture`` are set through the admin API. Absent keys are omitted, as Hanko omits empty
    ones (``metadata`` too: the public and unsafe objects, never the private).
    """
    emails = list(account.emails.all())
    username = accounts.username_of(account)
    account_facts = accounts.facts(account, emails, username)
    data: dict[str, Any] = {"id": str(account.id), "user_id": str(account.id)}
    data.update(_webauthn_credentials_data(account))
    data["mfa_config"] = {
        "auth_app_set_up": account_facts.has_otp_secret,
        "totp_enabled": settings.MFA.ENABLED and settings.MFA.TOTP.ENABLED,
        "security_keys_enabled": settings.MFA.ENABLED and settings.MFA.SECURITY_KEYS.ENABLED,
    }
    if emails:
        data["emails"] = [
            {
                "id": str(e.id),
                "address": e.address,
                "is_verified": e.is_verified,
                "is_primary": e.is_primary,
            }
            for e in emails
        ]
    if username:
        data["username"] = {
            "id": str(username.id),
            "username": username.username,
            "created_at": accounts.rfc3339(username.created_at),
            "updated_at": accounts.rfc3339(username.updated_at),
        }
    data["created_at"] = accounts.rfc3339(account.created_at)
    data["updated_at"] = accounts.rfc3339(account.updated_at)
    if (user_metadata := metadata.profile_metadata(account)) is not None:
        data["metadata"] = user_metadata
    if linked := identities.profile_dto(identities.enabled_of(account)):
        data["identities"] = linked
    for key in ("name", "given_name", "family_name", "picture"):
        if value := getattr(account, key):
            data[key] = value
    return data


def _webauthn_credentials_data(account: Account) -> dict[str, Any]:
    """``passkeys`` / ``security_keys`` of the profile data, each omitted when empty or off."""
    data: dict[str, Any] = {}
    if not (settings.PASSKEY.ENABLED or settings.MFA.SECURITY_KEYS.ENABLED):
        return data
    credentials = webauthn.credentials_of(account)
    passkeys = [webauthn.credential_dto(c) for c in credentials if not c.mfa_only]
    security_keys = [webauthn.credential_dto(c) for c in credentials if c.mfa_only]
    if passkeys and settings.PASSKEY.ENABLED:
        data["passkeys"] = passkeys
    if security_keys and settings.MFA.SECURITY_KEYS.ENABLED:
        data["security_keys"] = security_keys
    return data
