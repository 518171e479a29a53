"""The body of a delivery (platform.md §5.3): ``{"token": <JWT>, "event": <event>}``, the JWT
signed with the session signing key (same key and ``kid`` as session tokens, so receivers verify
it with ``/.well-known/jwks.json``). Signed at each attempt and never stored, so a delivery that
waited for a retry still carries a token that is valid for five minutes.
"""

from __future__ import annotations

import json
from typing import Any

import jwt

from hankoflow import clock
from hankoflow.conf import settings
from hankoflow.services import jwks
from hankoflow.services.webhooks import payloads

SUBJECT = "hanko webhooks"
LIFETIME = 5 * 60


def audience() -> list[str]:
    """``SESSION.AUDIENCE``, or ``[WEBAUTHN.RELYING_PARTY.ID]`` (as session tokens)."""
    return list(settings.SESSION.AUDIENCE) or [settings.WEBAUTHN.RELYING_PARTY.ID]


def token(event: str, data: dict[str, Any]) -> str:
    """The JWT of one attempt: ``sub``, ``iat``, ``exp`` (+5 min), ``aud``, ``evt``, ``data``;
    no ``iss`` (as Hanko)."""
    iat = int(clock.timestamp())
    claims = {
        "sub": SUBJECT,
        "iat": iat,
        "exp": iat + LIFETIME,
        "aud": audience(),
        "evt": event,
        "data": payloads.unseal(data),
    }
    key = jwks.signing_key()
    return jwt.encode(
        claims, key.key, algorithm=jwks.ALGORITHM, headers={"kid": key.kid, "typ": "JWT"}
    )


def body(event: str, data: dict[str, Any]) -> bytes:
    """The JSON body POSTed to the callback."""
    return json.dumps({"token": token(event, data), "event": event}).encode()
