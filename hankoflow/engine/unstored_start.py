"""Flows that only their client holds until the first action.

Most starts change nothing: the start hooks of login's and registration's first state leave its
stash as it was declared. Storing such a flow at ``POST /login`` would cost every start a write,
including the starts of clients that never act (crawlers, abandoned pages). So the engine hands
out a flow id that tells when the flow started (a UUIDv7: its first 48 bits are Unix
milliseconds) and a CSRF token that is a MAC of the flow's name and id under a server key. The
first action presents that pair; the engine checks the MAC and rebuilds the record the start
would have stored, and the store writes it with that action's step, refusing the step if a flow
with that id exists already: its start token has been used, and a stale token gets what any
stale token gets.

Keys: the first key makes tokens, every key checks them, so a key rotation keeps the flows
started under the previous key (as Django's ``SECRET_KEY_FALLBACKS`` do).
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from hankoflow.engine.tokens import ALPHANUMERIC_TABLE, CSRF_LENGTH

CLOCK_SKEW = timedelta(seconds=30)  # how far ahead of this server another one's clock may run
_VERSION_7 = 7


def new_flow_id(now: datetime) -> str:
    """A UUIDv7 (RFC 9562): Unix milliseconds of ``now``, then 74 random bits."""
    millis = int(now.timestamp() * 1000) & ((1 << 48) - 1)
    value = millis << 80 | int.from_bytes(secrets.token_bytes(10), "big")
    value = value & ~(0xF << 76) | _VERSION_7 << 76  # version
    value = value & ~(0x3 << 62) | 0x2 << 62  # variant (RFC 9562)
    return str(uuid.UUID(int=value))


def started_at(flow_id: str) -> datetime | None:
    """When the flow with this UUIDv7 id started; None for any other kind of id."""
    value = uuid.UUID(flow_id)
    if value.version != _VERSION_7:
        return None
    return datetime.fromtimestamp((value.int >> 80) / 1000, tz=UTC)


def start_token(key: bytes, flow_name: str, flow_id: str) -> str:
    """The CSRF token of a flow's start: 32 letters and digits, like every other token."""
    digest = hmac.digest(key, f"{flow_name}\x00{flow_id}".encode(), "sha512")
    # 32 bytes to 32 characters of 62: byte b gives ALPHANUMERIC[b % 62]. The small bias
    # leaves well over 180 bits a forger must guess.
    return digest[:CSRF_LENGTH].translate(ALPHANUMERIC_TABLE).decode()


def is_start_token(keys: Sequence[bytes], flow_name: str, flow_id: str, token: str) -> bool:
    """Whether ``token`` is the start token of this flow under any of ``keys``."""
    if not token.isascii():  # compare_digest takes no other str; no start token is one
        return False
    found = False
    for key in keys:  # every key, so the answer takes as long whichever one matches
        found |= hmac.compare_digest(start_token(key, flow_name, flow_id), token)
    return found
