"""Token forging helpers for the session tests."""

from __future__ import annotations

import json
from typing import Any

import jwt

from hankoflow import clock
from hankoflow.services import jwks, sessions
from hankoflow.testing.webauthn import b64url


def sign(
    claims: dict[str, Any],
    *,
    headers: dict[str, Any] | None = None,
    key: Any = None,
    algorithm: str = "RS256",
) -> str:
    """A token signed with our current signing key (or ``key``), any claims and headers."""
    signing = jwks.signing_key()
    all_headers = {"kid": signing.kid, "typ": "JWT", **(headers or {})}
    return jwt.encode(claims, key or signing.key, algorithm=algorithm, headers=all_headers)


def claims_for(issued: sessions.IssuedSession, **changes: Any) -> dict[str, Any]:
    """The claims of an issued token with some changed (value None removes the claim)."""
    claims = jwt.decode(issued.token, options={"verify_signature": False})
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def now() -> int:
    return int(clock.timestamp())


def sign_raw(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """RS256 over any header JSON (PyJWT refuses e.g. a non-string ``kid``), our key."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = jwks.signing_key().key.sign(
        signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return f"{signing_input}.{b64url(signature)}"
