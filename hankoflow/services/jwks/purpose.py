"""Short-lived tokens for one purpose, signed with the session keys: the Flow Execution API's
user assertions and the Passkey API's tokens. Each purpose has its own ``typ`` header and
audience, so no token passes as another kind (nor as a session token, whose ``typ`` is ``JWT``).

Expiry is checked on hankoflow's clock (``hankoflow.clock``), as everything else is, not on
PyJWT's own.
"""

from __future__ import annotations

from typing import Any

import jwt

from hankoflow import clock
from hankoflow.conf import settings
from hankoflow.services.jwks.keypairs import ALGORITHM
from hankoflow.services.jwks.keys import signing_key, verification_key

MAX_LENGTH = 8192  # as session tokens: a longer one is refused before it is parsed


def sign(claims: dict[str, Any], *, typ: str) -> str:
    """``claims`` signed with the current session key, ``kid`` and ``typ`` in the header; the
    ``iss`` claim is added when ``SESSION.ISSUER`` is set."""
    if settings.SESSION.ISSUER:
        claims = {**claims, "iss": settings.SESSION.ISSUER}
    key = signing_key()
    return jwt.encode(claims, key.key, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": typ})


def verify(token: Any, *, typ: str, audience: str, required: list[str]) -> dict[str, Any] | None:
    """The claims of a valid, unexpired ``typ`` token for ``audience`` carrying ``required``
    (a string ``jti`` always); None for anything else."""
    if not isinstance(token, str) or not token or len(token) > MAX_LENGTH:
        return None
    try:
        header = jwt.get_unverified_header(token)
        if header.get("typ") != typ or header.get("alg") != ALGORITHM:
            return None
        key = verification_key(header.get("kid"))
        if key is None:
            return None
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=settings.SESSION.ISSUER or None,
            options={"require": required, "verify_exp": False, "verify_iat": False},
        )
        expired = float(claims["exp"]) <= clock.timestamp()
    except (jwt.PyJWTError, ValueError, TypeError, KeyError, AttributeError):
        return None
    if expired or not isinstance(claims, dict) or not isinstance(claims.get("jti"), str):
        return None
    return claims
