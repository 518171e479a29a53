"""IdP metadata: inline from the settings or fetched from ``METADATA_URL`` and kept in Django's
cache for ``SAML.METADATA_CACHE_TIMEOUT`` seconds (Hanko keeps it in ``saml_idp_metadata``).

Only the entity id is read here; pysaml2 reads the SSO URL and the certificates itself.
"""

from __future__ import annotations

import hashlib
import logging

import requests
from defusedxml import ElementTree
from django.core.cache import cache

from hankoflow.conf import settings
from hankoflow.services.saml.providers import IdentityProvider

logger = logging.getLogger("hankoflow.saml")

TIMEOUT = 10  # seconds for the metadata request
_MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"
_MAX_BYTES = 1_000_000


class MetadataUnavailable(Exception):
    """The metadata could not be fetched or is not an IdP's EntityDescriptor."""


def xml(provider: IdentityProvider) -> str:
    """The provider's metadata XML (inline, cached or fetched now)."""
    if provider.metadata_xml:
        return provider.metadata_xml
    key = _cache_key(provider.metadata_url)
    cached = cache.get(key)
    if cached:
        return cached
    try:
        response = requests.get(provider.metadata_url, timeout=TIMEOUT)
        response.raise_for_status()
    except requests.RequestException as exc:
        logger.warning("SAML metadata of %s unavailable: %s", provider.domain, exc)
        raise MetadataUnavailable(str(exc)) from exc
    if len(response.content) > _MAX_BYTES:
        raise MetadataUnavailable("metadata too large")
    text = response.text
    entity_id_of(text)  # refuse to cache something that is not metadata
    cache.set(key, text, timeout=settings.SAML.METADATA_CACHE_TIMEOUT)
    return text


def entity_id(provider: IdentityProvider) -> str:
    """The IdP's entity id (the ``Identity.provider_id`` of its people)."""
    return entity_id_of(xml(provider))


def entity_id_of(text: str) -> str:
    try:
        root = ElementTree.fromstring(text.encode() if isinstance(text, str) else text)
    except Exception as exc:  # defusedxml raises several kinds for hostile or broken XML
        raise MetadataUnavailable(f"metadata is not XML: {exc}") from exc
    if root.tag == f"{_MD}EntitiesDescriptor":
        root = root.find(f"{_MD}EntityDescriptor")
    if root is None or root.tag != f"{_MD}EntityDescriptor" or not root.get("entityID"):
        raise MetadataUnavailable("metadata has no EntityDescriptor with an entityID")
    if root.find(f"{_MD}IDPSSODescriptor") is None:
        raise MetadataUnavailable("metadata has no IDPSSODescriptor")
    return root.get("entityID")


def forget(provider: IdentityProvider) -> None:
    """Drop the cached metadata (the next sign-in fetches it again)."""
    if provider.metadata_url:
        cache.delete(_cache_key(provider.metadata_url))


def _cache_key(url: str) -> str:
    return "hankoflow:saml:metadata:" + hashlib.sha256(url.encode()).hexdigest()
