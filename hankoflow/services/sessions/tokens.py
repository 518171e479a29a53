"""Session JWTs: the claims we sign (platform.md §2.3), how we check a token (SE-01, SE-02) and
the ``claims`` object Hanko's DTO makes of them (flow-api.md §4.5.2 step 3, platform.md §2.6).

No token value reaches a query unchecked: the header must have our shape before the ``kid`` is
looked up, and ``sub``/``session_id`` must be canonical UUIDs (``canonical_uuid``).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import jwt

from hankoflow.conf import settings
from hankoflow.models import Account
from hankoflow.services import accounts, jwks

ALGORITHMS = [jwks.ALGORITHM]  # pinned: the header's ``alg`` is never trusted (SE-01)
TOKEN_TYPE = "JWT"  # noqa: S105 (the JOSE "typ" value, not a secret)
# Longer strings are not our tokens (ours are ~1 kB); refused before any parsing.
MAX_TOKEN_LENGTH = 8192
# Claims every session token must carry (SE-02: exp required, sub and session id present).
REQUIRED_CLAIMS = ["exp", "iat", "sub", "aud", "session_id"]
CANONICAL_UUID_LENGTH = 36


def audience() -> list[str]:
    """``SESSION.AUDIENCE``, or ``[WEBAUTHN.RELYING_PARTY.ID]`` when empty (platform.md §2.1)."""
    configured = list(settings.SESSION.AUDIENCE)
    return configured or [settings.WEBAUTHN.RELYING_PARTY.ID]


def sign(claims: dict[str, Any]) -> str:
    """The RS256 JWT of ``claims``, signed with the current key (its ``kid`` in the header)."""
    key = jwks.signing_key()
    return jwt.encode(
        claims, key.key, algorithm=jwks.ALGORITHM, headers={"kid": key.kid, "typ": TOKEN_TYPE}
    )


def token_claims(
    account: Account, *, iat: int, exp: int, session_id: uuid.UUID, amr: list[str]
) -> dict[str, Any]:
    """Hanko's session claims for ``account``: ``email`` and ``username`` when it has them."""
    claims: dict[str, Any] = {
        "sub": str(account.pk),
        "iat": iat,
        "exp": exp,
        "aud": audience(),
        "session_id": str(session_id),
    }
    # account.emails.all() and the username reuse what accounts.get loaded, when it did.
    primary = next((e for e in account.emails.all() if e.is_primary), None)
    if primary is not None:
        claims["email"] = {
            "address": primary.address,
            "is_primary": True,
            "is_verified": primary.is_verified,
        }
    username = accounts.facts(account).username
    if username:
        claims["username"] = username
    if amr:
        claims["amr"] = list(amr)
    if settings.SESSION.ISSUER:
        claims["iss"] = settings.SESSION.ISSUER
    return claims


def rfc3339(timestamp: int | float) -> str:
    """JWT numeric dates as Hanko's DTO writes them: ``2025-01-15T12:57:56Z``."""
    return datetime.fromtimestamp(int(timestamp), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def claims_payload(claims: dict[str, Any]) -> dict[str, Any]:
    """Token claims as Hanko's ``Claims`` DTO (flow-api.md §4.5.2 step 3, platform.md §2.6):
    ``subject``, ``issued_at``, ``expiration``, ``audience``, ``issuer``, ``email``,
    ``username``, ``session_id``, and every other claim (``amr``...) flattened in."""
    payload: dict[str, Any] = {"subject": claims["sub"]}
    if "iat" in claims:
        payload["issued_at"] = rfc3339(claims["iat"])
    payload["expiration"] = rfc3339(claims["exp"])
    aud = claims.get("aud")
    if aud:
        payload["audience"] = [aud] if isinstance(aud, str) else list(aud)
    if claims.get("iss"):
        payload["issuer"] = claims["iss"]
    if "email" in claims:
        payload["email"] = claims["email"]
    if claims.get("username"):
        payload["username"] = claims["username"]
    payload["session_id"] = claims["session_id"]
    standard = {"sub", "iat", "exp", "aud", "iss", "email", "username", "session_id", "nbf", "jti"}
    for name, value in claims.items():
        if name not in standard:
            payload[name] = value
    return payload


def decode(token: Any) -> dict[str, Any] | None:
    """The claims of a token we signed and that is currently valid as a JWT, else None.

    RS256 only; the ``kid`` is looked up in our own key table (``jku``, ``x5u``, ``jwk`` and
    ``x5c`` headers are never used); unknown ``crit`` headers are refused by PyJWT >= 2.12;
    ``exp``, ``iat`` (not in the future), ``nbf``, ``aud`` (must contain ours) and ``iss`` (when
    ``SESSION.ISSUER`` is set) are checked without leeway. Hanko: checks neither ``aud`` nor
    ``iss`` (platform.md §12.2); we check both (security-checks SE-02).
    """
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        header = unverified_header(token)
        if not well_formed_header(header):
            return None
        key = jwks.verification_key(header["kid"])
        if key is None:
            return None
        claims = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            audience=audience(),
            issuer=settings.SESSION.ISSUER or None,
            options={"require": REQUIRED_CLAIMS},
            leeway=0,
        )
    except (jwt.PyJWTError, ValueError, TypeError, KeyError, AttributeError):
        return None
    if not isinstance(claims, dict):
        return None
    return claims


def unverified_header(token: str) -> Any:
    """The JOSE header of a compact JWT, unchecked: only to choose the key. Reads the first
    segment alone (PyJWT's ``get_unverified_header`` decodes all three, and ``jwt.decode`` does
    it again); ``jwt.decode`` then checks the whole token strictly, header included."""
    segment = token.split(".", 1)[0]
    try:
        return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, TypeError, binascii.Error, RecursionError) as exc:
        # RecursionError: JSON nested thousands deep (a token may be 8 kB).
        raise jwt.DecodeError("malformed header") from exc


def well_formed_header(header: Any) -> bool:
    """The JOSE header of one of our tokens: ``alg`` RS256, ``typ`` JWT and a ``kid`` of our
    shape. Checked before any lookup: a header value must never reach a query unchecked (NUL in
    a ``kid`` made PostgreSQL fail, issue 8)."""
    return (
        isinstance(header, dict)
        and header.get("alg") == jwks.ALGORITHM
        and header.get("typ") == TOKEN_TYPE
        and jwks.well_formed_kid(header.get("kid"))
    )


def canonical_uuid(value: Any) -> uuid.UUID | None:
    """A UUID from its canonical text only (``uuid.UUID`` also takes braces, URNs, signs...)."""
    if not isinstance(value, str) or len(value) != CANONICAL_UUID_LENGTH:
        return None
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return None
    return parsed if str(parsed) == value.lower() else None
