"""The demo's guard against a weak ``SECRET_KEY`` (security-checks CF-01).

``SECRET_KEY`` signs Django's sessions and CSRF tokens and derives the keys that encrypt
hankoflow's signing keys and codes at rest, so a guessable key gives all of that away. Length
alone says little: 32 spaces are 32 characters. The rule:

* at least ``MIN_LENGTH`` characters and not a well-known value, and
* at least ``MIN_ENTROPY_BITS`` by a simple estimate: the length times the Shannon entropy of the
  key's own character frequencies (bits per character). Repeated or few distinct characters
  score low (32 spaces: 0 bits; ``"ab" * 32``: 64 bits).

The estimate is an upper bound for patterned keys (``abc…xyz012345`` passes), so it catches
careless keys, not clever ones. A random key passes with room to spare: Django's
``get_random_secret_key()`` scores about 240 bits, ``secrets.token_urlsafe(32)`` about 210.
A 32-digit hex key (``uuid4().hex``, ``token_hex(16)``) holds at most 128 bits and scores
about 115: it is refused, use ``token_hex(32)``.
"""

from __future__ import annotations

import math
from collections import Counter

MIN_LENGTH = 32
MIN_ENTROPY_BITS = 128
DEMO_SECRET_KEY = "demo-insecure-secret-key-never-use-in-production"  # noqa: S105
WELL_KNOWN = {"", DEMO_SECRET_KEY, "abcedfghijklmnopqrstuvwxyz", "changeme", "secret"}


def estimated_entropy_bits(key: str) -> float:
    """Length times the Shannon entropy of the key's character frequencies."""
    length = len(key)
    if not length:
        return 0.0
    counts = Counter(key).values()
    return -sum(count * math.log2(count / length) for count in counts)


def weakness(key: str) -> str | None:
    """Why ``key`` must not be used, or None. Never repeats the key itself."""
    if key in WELL_KNOWN:
        return "is empty or well known"
    if len(key) < MIN_LENGTH:
        return f"is shorter than {MIN_LENGTH} characters"
    bits = estimated_entropy_bits(key)
    if bits < MIN_ENTROPY_BITS:
        return (
            f"is too predictable (about {bits:.0f} bits estimated from its characters, "
            f"at least {MIN_ENTROPY_BITS} needed)"
        )
    return None
