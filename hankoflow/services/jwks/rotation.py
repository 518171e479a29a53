"""Changing the key set: rotating (by hand or on schedule), retiring spent keys, and retiring one
key on request with the checks that keep sign-ins working."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet

from hankoflow import clock
from hankoflow.conf import settings
from hankoflow.models.sessions import Session, SigningKey
from hankoflow.services.jwks.cache import VERIFICATION_CACHE_SECONDS, announce_change
from hankoflow.services.jwks.keys import create_key, lock_table, newest

logger = logging.getLogger("hankoflow.jwks")


def rotate(*, now: datetime | None = None) -> SigningKey:
    """Create a new signing key; retire keys whose tokens have all expired."""
    now = now or clock.now()
    with transaction.atomic():
        lock_table()
        row = create_key(now=now)
        _retire_spent(now)
        announce_change()
    return row


def rotate_if_due(*, now: datetime | None = None) -> SigningKey | None:
    """The scheduled rotation (beat task ``hankoflow.rotate_signing_key``): a new signing key
    once the current one is ``SESSION.KEY_ROTATION.INTERVAL`` seconds old (0: never); either
    way, keys whose tokens have all expired are retired. The new key, or None."""
    now = now or clock.now()
    interval = int(settings.SESSION.KEY_ROTATION.INTERVAL)
    with transaction.atomic():
        lock_table()  # two schedulers at once rotate once
        current = newest()
        if interval > 0 and (
            current is None or current.created_at + timedelta(seconds=interval) <= now
        ):
            row = rotate(now=now)
            logger.info("rotated the session signing key: %s signs from now on", row.kid)
            return row
        if _retire_spent(now):
            announce_change()
    return None


def _retire_spent(now: datetime) -> int:
    """Retire the keys that stopped signing more than ``SESSION.LIFESPAN`` ago and that no live
    session may need (the lifespan may have been longer when they signed); how many."""
    keys = list(SigningKey.objects.filter(retired_at__isnull=True).order_by("created_at", "id"))
    lifespan = timedelta(seconds=settings.SESSION.LIFESPAN)
    retired = 0
    # A key stopped signing when its successor was created; once that is longer ago than
    # the session lifespan, no valid token can carry its kid.
    for older, successor in zip(keys, keys[1:], strict=False):
        if successor.created_at + lifespan < now and not _live_sessions(older, now).exists():
            retired += SigningKey.objects.filter(pk=older.pk).update(retired_at=now)
    return retired


# Session rows do not record their key: a session belongs to the key that was signing when it
# was created. created_at is cut to the second and a key may be created while a token is being
# signed, so a session that close to either end of a key's time counts for it too.
KEY_USE_MARGIN = timedelta(seconds=60)


def _live_sessions(row: SigningKey, now: datetime) -> QuerySet[Session]:
    """The unexpired sessions whose token ``row`` may have signed (a generous estimate)."""
    successor = (
        SigningKey.objects.filter(retired_at__isnull=True, created_at__gt=row.created_at)
        .order_by("created_at", "id")
        .first()
    )
    sessions = Session.objects.filter(
        expires_at__gt=now, created_at__gte=row.created_at - KEY_USE_MARGIN
    )
    if successor is not None:
        sessions = sessions.filter(created_at__lt=successor.created_at + KEY_USE_MARGIN)
    return sessions


class RetireRefused(Exception):
    """Retiring this key now would break sign-ins or sign people out; ``forceable`` when
    ``force=True`` overrides it (live sessions), not when it never can (the signing key)."""

    def __init__(self, message: str, *, forceable: bool) -> None:
        super().__init__(message)
        self.forceable = forceable


def check_retire(kid: str, *, force: bool = False, now: datetime | None = None) -> None:
    """Raise ``RetireRefused`` unless ``kid`` can be retired: it must be an unretired key that
    no longer signs, and no live session may hold a token it signed (unless ``force``)."""
    now = now or clock.now()
    row = SigningKey.objects.filter(kid=kid, retired_at__isnull=True).first()
    if row is None:
        raise RetireRefused(f"no active key with kid {kid!r}", forceable=False)
    signing = newest()
    if signing is not None and signing.pk == row.pk:
        alone = not SigningKey.objects.filter(retired_at__isnull=True).exclude(pk=row.pk).exists()
        what = "the only signing key" if alone else "the signing key"
        raise RetireRefused(
            f"{kid} is {what}: new sessions could not be signed with it retired. Run "
            "`manage.py hankoflow_jwk --rotate` first, then retire it (with --force if its "
            "tokens must stop working at once).",
            forceable=False,
        )
    if force:
        return
    live = _live_sessions(row, now)
    count = live.count()
    if count:
        last = max(live.values_list("expires_at", flat=True))
        raise RetireRefused(
            f"{count} live session(s) may hold tokens signed by {kid} (the last expires "
            f"{last.isoformat()}); retiring it now signs them out. Wait until then, or use "
            "--force (e.g. after a leak).",
            forceable=True,
        )


def retired_message(kid: str) -> str:
    """What the command and the admin tell the operator once ``kid`` is retired."""
    return (
        f"retired {kid}: refused from the next request where the cache is shared, "
        f"else within {VERIFICATION_CACHE_SECONDS} s"
    )


def retire_checked(kid: str, *, force: bool = False, now: datetime | None = None) -> None:
    """``check_retire`` then ``retire``: what the command and the admin do."""
    with transaction.atomic():
        lock_table()
        check_retire(kid, force=force, now=now)
        retire(kid, now=now)


def retire(kid: str, *, now: datetime | None = None) -> bool:
    """Stop publishing and accepting one key, without checks: at once in every process that
    shares the cache, within ``VERIFICATION_CACHE_SECONDS`` in the others."""
    with transaction.atomic():
        retired = SigningKey.objects.filter(kid=kid, retired_at__isnull=True).update(
            retired_at=now or clock.now()
        )
        announce_change()
    return bool(retired)
