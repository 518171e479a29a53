"""The SAML identity providers configured in ``SAML.IDENTITY_PROVIDERS`` (platform.md §9.5).

Each provider serves the email domain ``DOMAIN`` (unique); its entity id, SSO URL and signing
certificates come from its metadata (``METADATA`` inline, or fetched from ``METADATA_URL``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from hankoflow.conf import settings

_FQDN = re.compile(r"(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z")

# Hanko's default attribute names (platform.md §9.5).
_CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
DEFAULT_ATTRIBUTE_MAP = {
    "name": _CLAIMS + "name",
    "given_name": _CLAIMS + "givenname",
    "family_name": _CLAIMS + "surname",
    "email": _CLAIMS + "emailaddress",
}
_AUTH0 = "http://schemas.auth0.com/"
AUTH0_ATTRIBUTE_MAP = {
    "name": _AUTH0 + "name",
    "email_verified": _AUTH0 + "email_verified",
    "nickname": _AUTH0 + "nickname",
    "picture": _AUTH0 + "picture",
    "updated_at": _AUTH0 + "updated_at",
}
ATTRIBUTE_MAP_KEYS = frozenset(
    {
        *("name", "family_name", "given_name", "middle_name", "nickname", "preferred_username"),
        *("profile", "picture", "website", "gender", "birthdate", "zone_info", "locale"),
        *("updated_at", "email", "email_verified", "phone", "phone_verified"),
    }
)


@dataclass(frozen=True)
class IdentityProvider:
    name: str
    domain: str
    metadata_url: str = ""
    metadata_xml: str = field(default="", repr=False)
    skip_email_verification: bool = False
    # Hanko claim -> SAML attribute name, Hanko's defaults filled in.
    attribute_map: dict[str, str] = field(default_factory=dict)
    # The claims the configuration names itself (ALLOW_MISSING_ATTRIBUTES applies to them).
    explicit_claims: frozenset[str] = frozenset()
    enabled: bool = True
    # Not in Hanko: accept SHA-1 signatures and digests from this (old) IdP; off by default.
    allow_sha1: bool = False


def is_fqdn(value: str) -> bool:
    return isinstance(value, str) and bool(_FQDN.match(value.lower()))


def configured() -> list[IdentityProvider]:
    """Every provider in the settings, enabled or not."""
    return [_provider(block) for block in settings.SAML.IDENTITY_PROVIDERS if block]


def enabled() -> list[IdentityProvider]:
    """The providers in use: SAML is on and the provider is enabled."""
    if not settings.SAML.ENABLED:
        return []
    return [p for p in configured() if p.enabled]


def by_domain(domain: str) -> IdentityProvider | None:
    """The enabled provider for an email domain (case-insensitive), or None."""
    domain = (domain or "").strip().lower()
    return next((p for p in enabled() if p.domain == domain), None)


def for_email(address: str) -> IdentityProvider | None:
    """The enabled provider for the domain of ``address``, or None."""
    _, at, domain = (address or "").rpartition("@")
    return by_domain(domain) if at else None


def problems(block: dict[str, Any]) -> list[str]:
    """What keeps a configured provider from working (empty when it works)."""
    found = []
    if not is_fqdn(str(block.get("DOMAIN") or "")):
        found.append("has no DOMAIN that is a fully qualified domain name")
    if not block.get("METADATA_URL") and not block.get("METADATA"):
        found.append("has neither METADATA_URL nor METADATA")
    unknown = set(block.get("ATTRIBUTE_MAP") or {}) - ATTRIBUTE_MAP_KEYS
    if unknown:
        found.append(f"has unknown ATTRIBUTE_MAP keys: {', '.join(sorted(unknown))}")
    return found


def _provider(block: dict[str, Any]) -> IdentityProvider:
    name = str(block.get("NAME") or "")
    explicit = {k: str(v) for k, v in (block.get("ATTRIBUTE_MAP") or {}).items() if v}
    attribute_map = dict(DEFAULT_ATTRIBUTE_MAP)
    if "auth0" in name.lower():
        attribute_map.update(AUTH0_ATTRIBUTE_MAP)
    attribute_map.update(explicit)
    return IdentityProvider(
        name=name,
        domain=str(block.get("DOMAIN") or "").strip().lower(),
        metadata_url=str(block.get("METADATA_URL") or ""),
        metadata_xml=str(block.get("METADATA") or ""),
        skip_email_verification=bool(block.get("SKIP_EMAIL_VERIFICATION")),
        attribute_map=attribute_map,
        explicit_claims=frozenset(explicit),
        enabled=bool(block.get("ENABLED")),
        allow_sha1=bool(block.get("ALLOW_SHA1")),
    )
