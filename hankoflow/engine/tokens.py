"""The flow's CSRF tokens: random ones for every step, and the digest stores keep of them."""

from __future__ import annotations

import hashlib
import secrets
import string

CSRF_LENGTH = 32
ALPHANUMERIC = string.digits + string.ascii_letters
# Random bytes to characters: byte b becomes ALPHANUMERIC[b % 62]; the 8 bytes from 248 (4 x 62)
# up are dropped, so every character stays equally likely.
ALPHANUMERIC_TABLE = bytes(ord(ALPHANUMERIC[b % len(ALPHANUMERIC)]) for b in range(256))
_UNEVEN_BYTES = bytes(range(256 - 256 % len(ALPHANUMERIC), 256))


def random_alphanumeric(length: int) -> str:
    """``length`` characters drawn uniformly from digits and ASCII letters (CSRF tokens, request
    ids): one read of the system's randomness, where ``secrets.choice`` made one per character."""
    drawn = b""
    while len(drawn) < length:
        drawn += secrets.token_bytes(length + 8).translate(ALPHANUMERIC_TABLE, _UNEVEN_BYTES)
    return drawn[:length].decode()


def new_csrf_token() -> str:
    return random_alphanumeric(CSRF_LENGTH)


def hash_token(token: str) -> str:
    """Stores keep only this digest, so a leaked row cannot be replayed."""
    return hashlib.sha256(token.encode()).hexdigest()
