"""The OAuth 2 / OpenID Connect providers configured in ``THIRD_PARTY`` (platform.md §9.1).

Built-in providers sit under ``PROVIDERS`` by Hanko's lower-case id (``google``, ``github``...),
custom ones under ``CUSTOM_PROVIDERS`` by a key chosen by the project; their id is
``custom_<key>``. Each maps onto a social-core backend (``backends.py``); a provider counts as
usable only when it is enabled, supported and has its credentials.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hankoflow.conf import settings

# Hanko's built-in providers, in the order Hanko lists them, with their display names.
BUILTIN = {
    "apple": "Apple",
    "discord": "Discord",
    "github": "GitHub",
    "google": "Google",
    "linkedin": "LinkedIn",
    "microsoft": "Microsoft",
    "facebook": "Facebook",
}
# Apple's client secret is a JWT signed with an ES256 key (platform.md §9.1).
# Hanko: takes it only pre-signed, in `secret` (`hanko siwa`, valid up to 180 days); hankoflow
# also takes TEAM_ID, KEY_ID and PRIVATE_KEY (the .p8 key's PEM) and signs a 5-minute one for
# each request, so nothing expires. PRIVATE_KEY wins when both are set.
APPLE = "apple"
CUSTOM_PREFIX = "custom_"


@dataclass(frozen=True)
class Provider:
    id: str
    display_name: str
    client_id: str
    secret: str = field(repr=False)
    allow_linking: bool
    prompt: str = ""
    custom: bool = False
    # custom providers only
    scopes: tuple[str, ...] = ()
    issuer: str = ""
    use_discovery: bool = False
    authorization_endpoint: str = ""
    token_endpoint: str = ""
    userinfo_endpoint: str = ""
    attribute_mapping: dict[str, str] = field(default_factory=dict)
    acr_values: tuple[str, ...] = ()
    # Apple only: what signs the client secret (empty: ``secret`` is a pre-signed one)
    team_id: str = ""
    key_id: str = ""
    private_key: str = field(default="", repr=False)


def configured() -> list[tuple[str, dict[str, Any]]]:
    """Every provider block in the settings as ``(provider id, block)``, enabled or not."""
    third_party = settings.THIRD_PARTY
    blocks = [(key, third_party.PROVIDERS.get(key) or {}) for key in BUILTIN]
    blocks = [(key, block) for key, block in blocks if block]
    blocks += [
        (CUSTOM_PREFIX + key.lower(), block or {})
        for key, block in third_party.CUSTOM_PROVIDERS.items()
    ]
    return blocks


def problems(provider_id: str, block: dict[str, Any]) -> list[str]:
    """What keeps an enabled provider from working (empty when it works)."""
    found = []
    if not block.get("CLIENT_ID"):
        found.append("has no CLIENT_ID")
    if provider_id == APPLE:
        found += _apple_problems(block)
    elif not block.get("SECRET"):
        found.append("has no SECRET")
    if provider_id.startswith(CUSTOM_PREFIX):
        if not block.get("SCOPES"):
            found.append("has no SCOPES")
        if block.get("USE_DISCOVERY"):
            if not block.get("ISSUER"):
                found.append("uses discovery but has no ISSUER")
        else:
            for key in ("AUTHORIZATION_ENDPOINT", "TOKEN_ENDPOINT", "USERINFO_ENDPOINT"):
                if not block.get(key):
                    found.append(f"has no {key} (and USE_DISCOVERY is off)")
    return found


def _apple_problems(block: dict[str, Any]) -> list[str]:
    if block.get("PRIVATE_KEY"):
        found = [f"has no {key}" for key in ("TEAM_ID", "KEY_ID") if not block.get(key)]
        if not _is_p256_key(_pem(block["PRIVATE_KEY"])):
            found.append("has a PRIVATE_KEY that is not an ES256 (P-256) private key in PEM")
        return found
    secret = block.get("SECRET")
    if not secret:
        return ["has neither a PRIVATE_KEY (with TEAM_ID and KEY_ID) nor a pre-signed SECRET"]
    try:
        header = jwt.get_unverified_header(str(secret))
    except jwt.PyJWTError:
        header = {}
    if header.get("alg") != "ES256":
        return ["has a SECRET that is not a client secret JWT (ES256)"]
    return []


def _pem(value: Any) -> str:
    # Environment variables often carry the key's line breaks as a literal "\n".
    return str(value).replace("\\n", "\n").strip()


def _is_p256_key(pem: str) -> bool:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        return False
    return isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)


def enabled() -> list[Provider]:
    """The providers that are switched on and can work: built-ins in Hanko's order, then the
    custom ones by display name (flow-api.md §4.0.2.1)."""
    usable = [
        _provider(pid, block)
        for pid, block in configured()
        if block.get("ENABLED") and not problems(pid, block)
    ]
    builtin = [p for p in usable if not p.custom]
    return builtin + sorted((p for p in usable if p.custom), key=lambda p: p.display_name)


def get(provider_id: str) -> Provider | None:
    """The enabled, working provider ``provider_id`` (``google``, ``custom_acme``), or None."""
    return next((p for p in enabled() if p.id == provider_id), None)


def _provider(provider_id: str, block: dict[str, Any]) -> Provider:
    custom = provider_id.startswith(CUSTOM_PREFIX)
    scopes = block.get("SCOPES") or ()
    acr = block.get("ACR_VALUES") or ()
    return Provider(
        id=provider_id,
        display_name=block.get("DISPLAY_NAME") or BUILTIN.get(provider_id, provider_id),
        client_id=str(block.get("CLIENT_ID", "")),
        secret=str(block.get("SECRET", "")),
        # Hanko's defaults: linking allowed for built-ins, refused for custom providers.
        allow_linking=bool(block.get("ALLOW_LINKING", not custom)),
        prompt=str(block.get("PROMPT") or ""),
        custom=custom,
        scopes=tuple(scopes.split() if isinstance(scopes, str) else scopes),
        issuer=str(block.get("ISSUER") or "").rstrip("/"),
        use_discovery=bool(block.get("USE_DISCOVERY")),
        authorization_endpoint=str(block.get("AUTHORIZATION_ENDPOINT") or ""),
        token_endpoint=str(block.get("TOKEN_ENDPOINT") or ""),
        userinfo_endpoint=str(block.get("USERINFO_ENDPOINT") or ""),
        attribute_mapping=dict(block.get("ATTRIBUTE_MAPPING") or {}),
        acr_values=tuple(acr.split() if isinstance(acr, str) else acr),
        team_id=str(block.get("TEAM_ID") or ""),
        key_id=str(block.get("KEY_ID") or ""),
        private_key=_pem(block["PRIVATE_KEY"]) if block.get("PRIVATE_KEY") else "",
    )
