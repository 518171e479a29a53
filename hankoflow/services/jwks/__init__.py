"""RS256 signing keys for session JWTs, and the JWK set that publishes them (platform.md §2.2).

Keys live in ``SigningKey`` rows. The private key is stored as a Fernet token (AES-128-CBC +
HMAC-SHA256) whose key is derived from Django's ``SECRET_KEY`` with HKDF-SHA256 (see
services/crypto.py), never in the clear; ``SECRET_KEY_FALLBACKS`` still decrypt, so a
``SECRET_KEY`` rotation done the Django way keeps old keys usable (security-checks SE-04, CF-01).
Public keys are stored as JWKs and are what ``public_jwks()`` serves and ``verification_key()``
verifies with.

The newest unretired key signs; every unretired key verifies, so after ``rotate()`` tokens
signed with the previous key stay valid until they expire. ``rotate()`` also retires keys that
stopped signing more than ``SESSION.LIFESPAN`` ago (no unexpired token can name them).

Verification keys, and the signing key, are cached per process, so that ``request.user`` from a
JWT and a login cost no key query.
Each cached key remembers the *key-set generation* it was loaded under: a random value kept in the
shared cache (``RATE_LIMITER.CACHE``), which ``rotate()`` and ``retire()`` replace after they
commit. Every verification reads the generation (for ``request.user`` in the same round trip as
the session-validity entry, ``services.sessions.validity``) and drops keys loaded under
another one, so with a shared cache (Redis) a retired key is refused by every process from its
next request on. When the cache cannot tell (a per-process cache such as locmem, or the cache is
unreachable), cached keys are re-read from the database after ``VERIFICATION_CACHE_SECONDS``.

Modules: keypairs.py (RSA key pairs: generating, encrypting at rest, JWK encoding), cache.py
(this process's decoded keys and the shared key-set generation), keys.py (the signing key, the
verification keys, the published set), rotation.py (rotating and retiring keys).

Hanko: RSA-4096 keys whose AES key is the SHA-256 of ``secret_keys[0]``; we use RSA-2048 (the
RS256 norm, a quarter of the signing cost) and a key derived from ``SECRET_KEY``.
"""

from hankoflow.services.jwks.cache import (
    CACHE_RETRY_SECONDS,
    GENERATION_CACHE_KEY,
    VERIFICATION_CACHE_SECONDS,
    clear_cache,
    key_set_generation,
)
from hankoflow.services.jwks.keypairs import (
    ALGORITHM,
    KEY_SIZE,
    PUBLIC_EXPONENT,
    decrypt_private_key,
    encrypt_private_key,
    generate_private_key,
    public_jwk,
)
from hankoflow.services.jwks.keys import (
    PrivateKey,
    SigningKeyUnavailable,
    create_key,
    public_jwks,
    signing_key,
    signing_key_row,
    verification_key,
    well_formed_kid,
)
from hankoflow.services.jwks.rotation import (
    KEY_USE_MARGIN,
    RetireRefused,
    check_retire,
    retire,
    retire_checked,
    retired_message,
    rotate,
    rotate_if_due,
)

__all__ = [
    "ALGORITHM",
    "CACHE_RETRY_SECONDS",
    "GENERATION_CACHE_KEY",
    "KEY_SIZE",
    "KEY_USE_MARGIN",
    "PUBLIC_EXPONENT",
    "VERIFICATION_CACHE_SECONDS",
    "retired_message",
    "PrivateKey",
    "RetireRefused",
    "SigningKeyUnavailable",
    "check_retire",
    "clear_cache",
    "create_key",
    "decrypt_private_key",
    "encrypt_private_key",
    "generate_private_key",
    "key_set_generation",
    "public_jwk",
    "public_jwks",
    "retire",
    "retire_checked",
    "rotate",
    "rotate_if_due",
    "signing_key",
    "signing_key_row",
    "verification_key",
    "well_formed_kid",
]
