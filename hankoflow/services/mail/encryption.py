"""The secret part of an outbox row (the passcode), encrypted while it waits to be sent
(security-checks.md PC-01).

A row's ``secret`` is JSON encrypted with ``services/crypto.py`` (purpose ``"outbox secret"``),
so the database never holds a code in the clear; it is wiped once the row is closed.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import InvalidToken

from hankoflow.services import crypto

# services/crypto.py purpose (HKDF info "hankoflow outbox secret v1").
_CRYPTO_PURPOSE = "outbox secret"


def encrypt(secret: dict[str, Any]) -> str:
    """The stored form of ``secret``."""
    return crypto.encrypt(json.dumps(secret), _CRYPTO_PURPOSE)


def decrypt(token: str) -> dict[str, Any]:
    """The secret back; ``ValueError`` if it no longer decrypts (``SECRET_KEY`` changed)."""
    try:
        return json.loads(crypto.decrypt(token, _CRYPTO_PURPOSE))
    except InvalidToken:
        raise ValueError("the outbox secret does not decrypt (SECRET_KEY changed?)") from None
