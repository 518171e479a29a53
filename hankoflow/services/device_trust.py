"""Device trust: a browser that passed MFA may skip it for a while (flow-api.md §4.5.3, §4.1.3;
platform.md §1.13).

The device-trust cookie (``MFA.DEVICE_TRUST_COOKIE_NAME``) holds one entry per account that trusts
this browser, ``<account uuid>:<token>`` joined by ``|``, newest first, at most
``MFA.DEVICE_TRUST_MAX_USERS_PER_DEVICE``; a value without ``:`` or ``|`` is Hanko's older
single-token format. Each token is 64 random bytes, URL-safe base64 with padding, and only its
SHA-256 is stored (``TrustedDevice``), with the account and an expiry
``MFA.DEVICE_TRUST_DURATION`` seconds away. ``is_trusted`` answers the check of §4.1.3, ``trust``
creates a token and returns the effect that writes the merged cookie (the ``apply_to(response)``
protocol of ``services/sessions.py``), ``revoke_all`` ends an account's trust everywhere (it runs
with ``sessions.revoke_all``).

Whether a cookie is issued at all (policy ``always``, or ``prompt`` after ``trust_device``) is the
``success`` hook's decision; ``wants_cookie`` states the rule.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from hankoflow import clock
from hankoflow.conf import settings
from hankoflow.models import Account
from hankoflow.models.mfa import TrustedDevice

TOKEN_BYTES = 64
ENTRY_SEPARATOR = "|"
FIELD_SEPARATOR = ":"
# Hanko validates stored tokens at 64..128 characters; ours are 88. Anything else in a cookie is
# not a token we issued and is dropped.
_TOKEN = re.compile(r"[A-Za-z0-9_\-]{43,126}={0,2}")


@dataclass(frozen=True)
class Entry:
    """One cookie entry; ``account_id`` is None for the legacy bare-token cookie."""

    account_id: str | None
    token: str = field(repr=False)


@dataclass(frozen=True)
class DeviceTrustCookie:
    """``Set-Cookie`` with the device-trust entries: ``Path=/``, ``HttpOnly``, ``Secure``,
    ``SameSite=None``, ``Max-Age`` = the trust duration (none when the duration is 0)."""

    name: str
    value: str = field(repr=False)
    max_age: int | None

    def apply_to(self, response: HttpResponseBase) -> None:
        response.set_cookie(
            self.name,
            self.value,
            max_age=self.max_age,
            path="/",
            secure=True,
            httponly=True,
            samesite="None",
        )
        # Python quotes values containing "=" (the tokens' padding); RFC 6265 allows "=", "|"
        # and ":" in a cookie value, and Hanko sends the value bare, so we do too.
        response.cookies[self.name].set(self.name, self.value, self.value)


# --- the cookie ---------------------------------------------------------------------------------


def parse_cookie(value: str | None) -> list[Entry]:
    """The entries of a cookie value, in order; malformed entries are skipped.

    A value without separators is the legacy format: one ``Entry(None, token)``.
    """
    if not value:
        return []
    if ENTRY_SEPARATOR not in value and FIELD_SEPARATOR not in value:
        return [Entry(None, value)] if _TOKEN.fullmatch(value) else []
    entries = []
    for part in value.split(ENTRY_SEPARATOR):
        account_id, separator, token = part.partition(FIELD_SEPARATOR)
        if not separator or not _TOKEN.fullmatch(token):
            continue
        try:
            entries.append(Entry(str(uuid.UUID(account_id)), token))
        except ValueError:
            continue
    return entries


def cookie_value(entries: list[Entry]) -> str:
    """Entries back into a cookie value (legacy entries have no place in it and are left out)."""
    return ENTRY_SEPARATOR.join(
        f"{entry.account_id}{FIELD_SEPARATOR}{entry.token}"
        for entry in entries
        if entry.account_id is not None
    )


def token_hash(token: str) -> str:
    """What is stored for a token: its SHA-256, hex (64 characters)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


# --- trust --------------------------------------------------------------------------------------


def wants_cookie(*, granted: bool) -> bool:
    """Whether ``success`` issues the cookie (§4.5.3): policy ``always``, or ``prompt`` when the
    user chose ``trust_device`` (stash ``device_trust_granted``); never for ``never``."""
    policy = settings.MFA.DEVICE_TRUST_POLICY
    return policy == "always" or (policy == "prompt" and granted)


def is_trusted(request: HttpRequest, account: Account) -> bool:
    """True when the request's cookie holds a live token of ``account`` (§4.5.3 trust check).

    Policy ``never`` trusts nothing. The token is looked up by hash and must belong to the
    account and be unexpired; another account's entry in the same cookie never counts. A legacy
    bare token is looked up directly, with the same conditions.
    """
    if settings.MFA.DEVICE_TRUST_POLICY == "never":
        return False
    entries = parse_cookie(request.COOKIES.get(settings.MFA.DEVICE_TRUST_COOKIE_NAME))
    account_id = str(account.pk)
    token = next(
        (e.token for e in entries if e.account_id is None or e.account_id == account_id), None
    )
    if token is None:
        return False
    return TrustedDevice.objects.filter(
        token_hash=token_hash(token), account=account, expires_at__gt=clock.now()
    ).exists()


def trust(request: HttpRequest, account: Account) -> DeviceTrustCookie:
    """Trust this device for ``account``: a new token, stored (hashed) when
    ``MFA.DEVICE_TRUST_DURATION`` > 0, put first in the request's cookie in place of the account's
    previous entry; returns the effect that writes the cookie.

    Runs in the caller's transaction. The account's replaced token and its expired ones are
    deleted. Entries beyond ``DEVICE_TRUST_MAX_USERS_PER_DEVICE`` (the oldest) and a legacy
    bare token are dropped from the cookie, as Hanko does.
    """
    duration = int(settings.MFA.DEVICE_TRUST_DURATION)
    limit = int(settings.MFA.DEVICE_TRUST_MAX_USERS_PER_DEVICE) or 20  # Hanko: 0 means default
    name = settings.MFA.DEVICE_TRUST_COOKIE_NAME
    account_id = str(account.pk)
    now = clock.now()
    token = base64.urlsafe_b64encode(secrets.token_bytes(TOKEN_BYTES)).decode("ascii")

    previous = parse_cookie(request.COOKIES.get(name))
    replaced = [token_hash(e.token) for e in previous if e.account_id == account_id]
    stale = TrustedDevice.objects.filter(account=account)
    stale.filter(token_hash__in=replaced).delete()
    stale.filter(expires_at__lte=now).delete()
    if duration > 0:
        TrustedDevice.objects.create(
            account=account,
            token_hash=token_hash(token),
            created_at=now,
            expires_at=now + timedelta(seconds=duration),
        )

    others = [e for e in previous if e.account_id is not None and e.account_id != account_id]
    entries = [Entry(account_id, token), *others][:limit]
    # Hanko: a duration of 0 gives a browser-session cookie whose token is stored nowhere.
    return DeviceTrustCookie(name, cookie_value(entries), duration if duration > 0 else None)


def revoke_all(account: Account) -> int:
    """Forget every device the account trusts; the number of tokens deleted."""
    deleted, _ = TrustedDevice.objects.filter(account=account).delete()
    return deleted
