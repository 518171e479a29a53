"""API keys of the admin API: made, checked and revoked here (``models.ApiKey``).

A key is ``hfk_`` followed by 43 URL-safe characters (256 random bits). Only its SHA-256 digest
is stored: a key is a random secret, not a password, so a fast hash is enough and a lookup by
digest compares nothing character by character. The plaintext exists once, in ``create``'s
answer. ``last_used_at`` is written at most once a minute per key.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from hankoflow import clock
from hankoflow.models import ApiKey

PREFIX = "hfk_"
SHOWN_PREFIX_LENGTH = len(PREFIX) + 6
# A burst of calls with one key costs one UPDATE a minute.
LAST_USED_RESOLUTION = timedelta(minutes=1)
READ = ApiKey.Scope.READ
FULL = ApiKey.Scope.FULL


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    plaintext: str = field(repr=False)  # shown once; never stored, never in a log line


def digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).hexdigest()


def create(name: str, *, scope: str = READ, created_by: str = "") -> NewKey:
    """A new key; ``plaintext`` is the only copy of the secret."""
    if scope not in ApiKey.Scope.values:
        raise ValueError(f"scope must be one of {ApiKey.Scope.values}")
    plaintext = PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        name=name,
        scope=scope,
        prefix=plaintext[:SHOWN_PREFIX_LENGTH],
        key_hash=digest(plaintext),
        created_by=created_by,
    )
    return NewKey(key=key, plaintext=plaintext)


def authenticate(plaintext: str) -> ApiKey | None:
    """The unrevoked key ``plaintext`` is, recording its use; None for anything else."""
    if not plaintext.startswith(PREFIX) or len(plaintext) > 128:
        return None
    key = ApiKey.objects.filter(key_hash=digest(plaintext), revoked_at__isnull=True).first()
    if key is None:
        return None
    now = clock.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def revoke(key: ApiKey) -> bool:
    """Revoke ``key`` (it stays listed); False when it already was."""
    updated = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=clock.now()
    )
    return bool(updated)


def matching(prefix_or_id: str) -> list[ApiKey]:
    """The keys ``prefix_or_id`` names: the key's id, or the start of the key (at least its
    shown prefix, e.g. ``hfk_AbC123``)."""
    value = prefix_or_id.strip()
    try:
        key_id = uuid.UUID(value)
    except ValueError:
        if len(value) < SHOWN_PREFIX_LENGTH or not value.startswith(PREFIX):
            return []
        return list(ApiKey.objects.filter(prefix=value[:SHOWN_PREFIX_LENGTH]))
    return list(ApiKey.objects.filter(pk=key_id))


def actor_details(key: ApiKey) -> dict[str, str]:
    """What audit entries of a change made through the admin API say about who made it."""
    return {"api": "admin", "api_key_id": str(key.pk), "api_key_name": key.name}
