"""The ``data`` of each event (platform.md §5.4): Hanko's admin User, the session row, EmailSend.

An ``email.send`` payload holds a passcode (in ``otp_code`` and in the rendered bodies), so it
is stored sealed (encrypted with ``services/crypto.py``) and opened only to sign an attempt.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import InvalidToken

from hankoflow import clock, emails
from hankoflow.conf import settings
from hankoflow.engine import RequestFacts
from hankoflow.models import Account
from hankoflow.models.sessions import Session
from hankoflow.services import crypto
from hankoflow.services.accounts import rfc3339
from hankoflow.services.admin_user import admin_user

SEALED = "sealed"
_CRYPTO_PURPOSE = "webhook data"
SECURITY_NOTIFICATION = "security_notification"
# Context keys of the security notifications -> Hanko's EmailSend data keys.
_NOTIFICATION_KEYS = {
    "new_email": "new_email_address",
    "old_email": "old_email_address",
    "deleted_email": "deleted_email_address",
}


def user(account: Account, *, env: RequestFacts | None = None) -> dict[str, Any]:
    """The admin User; with ``env``, the request's ``user_agent`` and ``ip_address`` too
    (flow events: ``user.create``, ``user.login``, ``user.update.*``)."""
    # Read afresh: the caller's instance may hold emails or a username cached before the change.
    fresh = Account.objects.select_related("user").filter(pk=account.pk).first()
    return admin_user(fresh or account, full=True, env=env)


def session(row: Session) -> dict[str, Any]:
    """The session row as Hanko's JSON (platform.md §1.10)."""
    return {
        "id": str(row.pk),
        "user_id": str(row.account_id),
        "user_agent": row.user_agent or None,
        "ip_address": row.ip_address or None,
        "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
        "expires_at": rfc3339(row.expires_at),
        "last_used": rfc3339(row.last_used),
    }


def email_send(
    kind: str, *, to: str, language: str, context: dict[str, Any], code: str | None
) -> dict[str, Any]:
    """EmailSend for an outbox email (sealed): the rendered subject and bodies, the address,
    ``delivered_by_hanko`` (``EMAIL_DELIVERY.ENABLED``), ``language``, ``type`` and ``data``."""
    values = {"service_name": settings.SERVICE.NAME, **context}
    if code is not None:
        values["code"] = code
    rendered = emails.render(kind, language=emails.language_for(language), context=values)
    service_name = values["service_name"]
    if kind in emails.SECURITY_NOTIFICATION_KINDS:
        kind_type = SECURITY_NOTIFICATION
        data: dict[str, Any] = {"template": kind, "service_name": service_name}
        for ours, theirs in _NOTIFICATION_KEYS.items():
            if context.get(ours):
                data[theirs] = context[ours]
    else:
        kind_type = kind
        data = {"service_name": service_name}
        if code is not None:
            ttl = int(settings.EMAIL.PASSCODE_TTL)
            data.update(otp_code=code, ttl=ttl, valid_until=int(clock.timestamp()) + ttl)
    payload: dict[str, Any] = {
        "subject": rendered.subject,
        "body_plain": rendered.text,
        "to_email_address": to,
        "delivered_by_hanko": bool(settings.EMAIL_DELIVERY.ENABLED),
        # Hanko: the raw X-Language header; we have the value the caller queued the email with.
        "accept_language": "" if kind_type == SECURITY_NOTIFICATION else language,
        "language": language,
        "type": kind_type,
        "data": data,
    }
    if rendered.html:
        payload["body"] = rendered.html
    return seal(payload)


def seal(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as stored when it holds a secret."""
    return {SEALED: crypto.encrypt(json.dumps(data), _CRYPTO_PURPOSE)}


def unseal(data: dict[str, Any]) -> dict[str, Any]:
    """Stored ``data`` as sent: sealed payloads opened; ``ValueError`` if one no longer opens."""
    if set(data) != {SEALED}:
        return data
    try:
        return json.loads(crypto.decrypt(data[SEALED], _CRYPTO_PURPOSE))
    except InvalidToken:
        raise ValueError("the webhook payload does not decrypt (SECRET_KEY changed?)") from None
