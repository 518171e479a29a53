"""Validate a SAML response and read the person it names (platform.md §9.5, §9.6).

pysaml2 checks the XML signature of the assertion against the IdP's metadata certificates
(unsigned or altered: refused), the status, ``InResponseTo`` against the request we sent, the
audience and the validity window. On top of that, here: the assertion must name an audience,
``InResponseTo`` is refused on an IdP-initiated response, the issuer must be the provider's
entity id, and the window is checked again with hankoflow's clock (``clock.now()``). A
signature or digest with SHA-1 anywhere in the response, or in an assertion once decrypted, is
refused unless the provider's ``ALLOW_SHA1`` is on (security-checks SA-05).
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from defusedxml import ElementTree
from django.core.cache import cache

from hankoflow import clock
from hankoflow.conf import settings
from hankoflow.services.saml import metadata, sp
from hankoflow.services.saml.providers import IdentityProvider, enabled
from hankoflow.services.thirdparty.backends import ProviderUser

logger = logging.getLogger("hankoflow.saml")

_SAML = "{urn:oasis:names:tc:SAML:2.0:assertion}"
_MAX_RESPONSE = 512 * 1024  # base64 characters
# XML-DSig's SHA-1 signature and digest methods (RFC 6931): SHA-1 collisions are practical.
_SHA1_METHODS = frozenset(
    {
        "http://www.w3.org/2000/09/xmldsig#sha1",
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        "http://www.w3.org/2000/09/xmldsig#dsa-sha1",
        "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1",
    }
)


class AssertionRefused(Exception):
    """The response cannot sign anybody in; the message says why (logged, and shown as the
    ``error_description`` of ``invalid_request``)."""


@dataclass(frozen=True)
class Verified:
    provider: IdentityProvider
    entity_id: str
    person: ProviderUser
    assertion_id: str
    not_on_or_after: int  # unix time


def issuer_of(saml_response: str) -> str:
    """The ``Issuer`` of a response, unverified (to pick the provider of an IdP-initiated one)."""
    root = _parse(saml_response)
    issuer = root.find(f"{_SAML}Issuer")
    if issuer is None:
        issuer = root.find(f"{_SAML}Assertion/{_SAML}Issuer")
    return (issuer.text or "").strip() if issuer is not None else ""


def provider_for_issuer(issuer: str) -> IdentityProvider | None:
    for provider in enabled():
        try:
            if metadata.entity_id(provider) == issuer:
                return provider
        except metadata.MetadataUnavailable:
            continue
    return None


def verify(provider: IdentityProvider, saml_response: str, *, request_id: str | None) -> Verified:
    """The verified person of ``saml_response``. ``request_id``: the AuthnRequest id of an
    SP-initiated sign-in, None for an IdP-initiated one."""
    root = _parse(saml_response)  # size and well-formedness, before xmlsec1 sees it
    if not provider.allow_sha1:
        _refuse_sha1(root)
    unsolicited = request_id is None
    client = sp.client(provider, unsolicited=unsolicited, audience_uri=sp.audience())
    from saml2 import BINDING_HTTP_POST  # installed: sp.client would have said otherwise

    outstanding = {} if unsolicited else {request_id: "sp"}
    try:
        response = client.parse_authn_request_response(
            saml_response, BINDING_HTTP_POST, outstanding=outstanding
        )
    except Exception as exc:  # pysaml2 raises many kinds, plain Exception among them
        logger.info("SAML response refused: %s: %s", type(exc).__name__, exc)
        raise AssertionRefused(_reason(exc)) from None
    if response is None or response.assertion is None:
        raise AssertionRefused("no assertion in the response")
    if not provider.allow_sha1:
        # An encrypted assertion's signature was out of sight before pysaml2 decrypted it.
        for decrypted in response.assertions or [response.assertion]:
            _refuse_sha1(ElementTree.fromstring(str(decrypted).encode()))
    entity_id = metadata.entity_id(provider)
    in_response_to = response.in_response_to or _confirmation_in_response_to(response)
    if unsolicited and in_response_to:
        raise AssertionRefused("an IdP-initiated response must not answer a request")
    if not unsolicited and response.in_response_to != request_id:
        raise AssertionRefused("the response does not answer our request")
    assertion = response.assertion
    if not assertion.id:
        raise AssertionRefused("the assertion has no ID")
    issuer = (assertion.issuer.text or "").strip() if assertion.issuer else ""
    if issuer != entity_id:
        raise AssertionRefused("the assertion's issuer is not the provider")
    not_on_or_after = _check_window(assertion)
    subject = (response.name_id.text or "").strip() if response.name_id else ""
    if not subject:
        raise AssertionRefused("the assertion has no NameID")
    return Verified(
        provider=provider,
        entity_id=entity_id,
        person=_person(provider, subject, _attributes(assertion)),
        assertion_id=str(assertion.id or ""),
        not_on_or_after=not_on_or_after,
    )


def first_use(verified: Verified) -> bool:
    """Record an IdP-initiated assertion until its ``NotOnOrAfter``; False when it was seen
    before (a replay). Hanko keeps ``saml_idp_initiated_requests``; we use Django's cache.

    Hanko: keyed by the Response ID, which sits outside the signature when only the assertion
    is signed; we key by the signed assertion's ID, so a renamed envelope is still a replay.
    """
    key = hashlib.sha256(f"{verified.entity_id}\n{verified.assertion_id}".encode()).hexdigest()
    timeout = max(int(verified.not_on_or_after - clock.timestamp()) + sp.CLOCK_SKEW, 1)
    return cache.add(f"hankoflow:saml:idp-initiated:{key}", 1, timeout=timeout)


def _parse(saml_response: str) -> Any:
    if not isinstance(saml_response, str) or not saml_response:
        raise AssertionRefused("SAMLResponse is missing")
    if len(saml_response) > _MAX_RESPONSE:
        raise AssertionRefused("SAMLResponse is too large")
    try:
        raw = base64.b64decode(saml_response, validate=False)
        return ElementTree.fromstring(raw)
    except Exception:  # binascii, defusedxml and parse errors alike
        raise AssertionRefused("SAMLResponse is not a SAML response") from None


def refuse_sha1(saml_response: str) -> None:
    """``AssertionRefused`` when a signature or digest in ``saml_response`` uses SHA-1."""
    _refuse_sha1(_parse(saml_response))


def _refuse_sha1(root: Any) -> None:
    # Hanko: no such policy (its library takes what the IdP signed with). Every SignedInfo
    # counts, in whatever namespace, so none can slip past; a DigestMethod outside one (RSA-OAEP
    # key transport of an encrypted assertion) is no signature and may stay SHA-1.
    for signed_info in _named(root, "SignedInfo"):
        for element in _named(signed_info, "SignatureMethod", "DigestMethod"):
            if (element.get("Algorithm") or "").strip().lower() in _SHA1_METHODS:
                raise AssertionRefused("the response is signed with SHA-1")


def _named(root: Any, *local_names: str) -> Any:
    """The elements under ``root`` (itself included) with one of ``local_names``, any namespace."""
    for element in root.iter():
        # Comments and processing instructions have no str tag.
        if isinstance(element.tag, str) and element.tag.rpartition("}")[2] in local_names:
            yield element


def _reason(exc: Exception) -> str:
    """A description for the error redirect; pysaml2's own messages stay in the log."""
    name = type(exc).__name__
    if "Signature" in name or "signature" in str(exc).lower():
        return "the response or assertion signature is missing or invalid"
    if "Audience" in str(exc):
        return "the assertion is not meant for this service provider"
    if "Unsolicited" in name:
        return "the response does not answer a request of ours"
    if "Status" in name or "status" in name.lower():
        return "the identity provider reported an error"
    if "time" in str(exc).lower() or "ToEarly" in name or "ToLate" in name:
        return "the assertion is not valid at this time"
    return "the SAML response is invalid"


def _confirmation_in_response_to(response) -> str:
    subject = response.assertion.subject
    for confirmation in getattr(subject, "subject_confirmation", None) or []:
        data = confirmation.subject_confirmation_data
        if data is not None and data.in_response_to:
            return data.in_response_to
    return ""


def _check_window(assertion) -> int:
    """``NotBefore``/``NotOnOrAfter`` with hankoflow's clock; the end as unix time."""
    from saml2.time_util import str_to_time

    conditions = assertion.conditions
    if conditions is None or not conditions.audience_restriction:
        # Hanko's library checks the audience only when one is named; we want one.
        raise AssertionRefused("the assertion names no audience")
    if not conditions.not_on_or_after:
        raise AssertionRefused("the assertion has no NotOnOrAfter")
    now = clock.timestamp()
    end = _unix(str_to_time(conditions.not_on_or_after))
    if now >= end + sp.CLOCK_SKEW:
        raise AssertionRefused("the assertion is not valid at this time")
    if conditions.not_before and now + sp.CLOCK_SKEW < _unix(str_to_time(conditions.not_before)):
        raise AssertionRefused("the assertion is not valid at this time")
    return end


def _unix(struct: Any) -> int:
    return calendar.timegm(struct)


def _attributes(assertion) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for statement in assertion.attribute_statement or []:
        for attribute in statement.attribute or []:
            values = [(v.text or "").strip() for v in attribute.attribute_value or []]
            found.setdefault(attribute.name, []).extend(v for v in values if v)
    return found


def _person(
    provider: IdentityProvider, subject: str, attributes: dict[str, list[str]]
) -> ProviderUser:
    claims: dict[str, Any] = {}
    used = set()
    for claim, name in provider.attribute_map.items():
        if attributes.get(name):
            claims[claim] = attributes[name][0]
            used.add(name)
    missing = provider.explicit_claims - set(claims)
    if missing and not settings.SAML.OPTIONS.ALLOW_MISSING_ATTRIBUTES:
        raise AssertionRefused(f"missing attributes: {', '.join(sorted(missing))}")
    email = str(claims.pop("email", "")).strip().lower()
    verified = provider.skip_email_verification or (
        str(claims.pop("email_verified", "")).lower() == "true"
    )
    claims.pop("email_verified", None)
    custom = {k: v if len(v) > 1 else v[0] for k, v in attributes.items() if k not in used and v}
    data = {k: v for k, v in claims.items() if v}
    if custom:
        data["custom_claims"] = custom
    return ProviderUser(subject=subject, email=email, email_verified=verified, data=data)
