"""Ceremony challenges, stored server-side and bound to their flow, ceremony and user; they
expire with the ceremony timeout and are consumed by the first verification attempt,
successful or not (WA-01)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from webauthn.helpers import bytes_to_base64url

from hankoflow import clock
from hankoflow.models import WebauthnChallenge
from hankoflow.services.webauthn.errors import WebauthnInvalid

REGISTRATION = WebauthnChallenge.Ceremony.REGISTRATION
AUTHENTICATION = WebauthnChallenge.Ceremony.AUTHENTICATION


@dataclass(frozen=True)
class Options:
    """A ceremony's challenge id (for the flow stash) and the ``{"publicKey": ...}`` payload."""

    challenge_id: str
    options: dict[str, Any]


def store_challenge(
    *,
    ceremony: str,
    challenge: bytes,
    timeout_ms: int,
    flow_id: str | None,
    user_id: str | None,
    user_verification: str,
    allowed_credential_ids: list[str] | None = None,
    mfa: bool = False,
    mfa_only: bool = False,
) -> WebauthnChallenge:
    now = clock.now()
    return WebauthnChallenge.objects.create(
        flow_id=uuid.UUID(str(flow_id)) if flow_id else None,
        ceremony=ceremony,
        challenge=bytes_to_base64url(challenge),
        user_id=account_uuid(user_id),
        user_verification=user_verification,
        allowed_credential_ids=list(allowed_credential_ids or []),
        mfa=mfa,
        mfa_only=mfa_only,
        created_at=now,
        expires_at=now + timedelta(milliseconds=timeout_ms),
    )


def account_uuid(user_id: str | None) -> uuid.UUID | None:
    """The account id of a ceremony; None (anyone) also for Hanko's nil UUID."""
    if not user_id:
        return None
    value = uuid.UUID(str(user_id))
    return None if value.int == 0 else value


def consume(challenge_id: str, *, flow_id: str | None, ceremony: str) -> WebauthnChallenge:
    """Mark the flow's challenge used (first attempt wins, WA-01) and return it if still valid."""
    try:
        pk = uuid.UUID(str(challenge_id))
        flow = uuid.UUID(str(flow_id)) if flow_id else None
    except ValueError:
        raise WebauthnInvalid("malformed challenge or flow id") from None
    now = clock.now()
    consumed = WebauthnChallenge.objects.filter(pk=pk, used_at__isnull=True, flow_id=flow).update(
        used_at=now
    )
    if consumed != 1:
        raise WebauthnInvalid("unknown, used or foreign challenge")
    row = WebauthnChallenge.objects.get(pk=pk)
    if row.ceremony != ceremony:
        raise WebauthnInvalid(f"not a {ceremony} challenge")
    if row.expires_at <= now:
        raise WebauthnInvalid("challenge expired")
    return row


def find_challenge_id(response: Any, *, flow_id: str, ceremony: str) -> str:
    """The id of the ``flow_id`` challenge a ceremony response answers, read from its
    ``clientDataJSON`` (for APIs whose finalize request carries only the credential, like
    Hanko's passkey server). Untrusted input: anything unreadable or unknown is
    ``WebauthnInvalid``; ``consume`` then refuses a used, expired or foreign challenge."""
    try:
        if isinstance(response, str):
            response = json.loads(response)
        encoded = response["response"]["clientDataJSON"]
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        challenge = json.loads(raw)["challenge"]
        flow = uuid.UUID(str(flow_id))
    except (TypeError, KeyError, ValueError, AttributeError, binascii.Error, RecursionError):
        raise WebauthnInvalid("no readable challenge in the response") from None
    if not isinstance(challenge, str) or not challenge or len(challenge) > 512:
        raise WebauthnInvalid("no readable challenge in the response")
    found = (
        WebauthnChallenge.objects.filter(challenge=challenge, flow_id=flow, ceremony=ceremony)
        .values_list("pk", flat=True)
        .first()
    )
    if found is None:
        raise WebauthnInvalid("unknown challenge")
    return str(found)


def delete_expired_challenges(*, now: datetime | None = None) -> int:
    """Delete challenges whose ceremony has timed out (used or not); returns how many."""
    deleted, _ = WebauthnChallenge.objects.filter(expires_at__lt=now or clock.now()).delete()
    return deleted
