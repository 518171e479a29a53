# ruff: noqa: F811 (the imported fixtures are parameters by name)
"""SAML checks of ../shared/spec/security-checks.md §4 G (SA-01 ... SA-05) that the suites
elsewhere do not already prove; docs/security-checks.md maps every check to its tests.
Against the local pysaml2 IdP of tests/saml (slow: it runs a server and xmlsec1)."""

from __future__ import annotations

import base64
import re

import pytest

from hankoflow.models import Identity
from tests.saml.conftest import (  # noqa: F401 (tests/saml's fixtures, used by name)
    DEFAULT_REDIRECT,
    ENDPOINT,
    browser,
    idp,
    needs_xmlsec,
    query_of,
    saml,
    sp_keys,
)

pytestmark = [pytest.mark.slow, needs_xmlsec, pytest.mark.django_db]

ACS = f"{ENDPOINT}/saml/callback"
ADA = "ada@corp.example.com"
EVE = "eve@corp.example.com"


def idp_initiated_xml(idp) -> str:
    encoded = idp.response(in_response_to=None, sp_entity_id=ENDPOINT, acs=ACS)
    return base64.b64decode(encoded).decode()


def post(browser, xml: str, relay_state: str = ""):
    encoded = base64.b64encode(xml.encode()).decode()
    return browser.post_callback({"SAMLResponse": encoded, "RelayState": relay_state})


def assertion_of(xml: str) -> tuple[str, str]:
    """The (first) signed Assertion element and its tag name with prefix."""
    match = re.search(r"<(\w+:)?Assertion\b.*?</\1?Assertion>", xml, re.S)
    assert match, xml[:500]
    return match.group(0), (match.group(1) or "")


def forged_copy(assertion: str) -> str:
    """The assertion for someone else, with a new ID and its signature left in place."""
    forged = assertion.replace(ADA, EVE)
    return re.sub(r'\bID="([^"]+)"', r'ID="\1-forged"', forged, count=1)


def assert_not_signed_in_as_eve(response) -> None:
    assert response.status_code in (302, 303), response.content
    assert not Identity.objects.filter(email=EVE).exists()
    assert EVE not in str(query_of(response["Location"]))


# --- SA-01 signature wrapping ---------------------------------------------------------------------


@pytest.mark.parametrize("place", ["before", "after", "extensions", "instead_unsigned"])
def test_wrapped_assertions_for_someone_else_are_refused(browser, idp, place):
    xml = idp_initiated_xml(idp)
    assert ADA in xml
    signed, prefix = assertion_of(xml)
    forged = forged_copy(signed)
    if place == "before":
        wrapped = xml.replace(signed, forged + signed)
    elif place == "after":
        wrapped = xml.replace(signed, signed + forged)
    elif place == "extensions":
        protocol = re.search(r"<(\w+:)?Response\b", xml).group(1) or ""
        ext = f"<{protocol}Extensions>{signed}</{protocol}Extensions>"
        wrapped = xml.replace(signed, ext + forged)
    else:
        without_signature = re.sub(r"<(\w+:)?Signature\b.*?</\1?Signature>", "", forged, flags=re.S)
        wrapped = xml.replace(signed, without_signature)
    assert wrapped != xml
    assert_not_signed_in_as_eve(post(browser, wrapped))


def test_a_comment_in_the_name_id_does_not_change_who_signs_in(browser, idp):
    """Comments are outside the canonical form: a reader that stops at one would take a prefix."""
    xml = idp_initiated_xml(idp)
    commented = xml.replace(ADA, "ada@corp.example.com<!-- x -->", 1)
    response = post(browser, commented)
    assert response.status_code in (302, 303)
    for identity in Identity.objects.all():
        assert identity.email in ("", ADA)


# --- SA-04 IdP-initiated: RelayState is no redirect target ----------------------------------------


@pytest.mark.parametrize(
    "relay_state", ["https://evil.example.com/", "//evil.example.com", "javascript:alert(1)"]
)
def test_an_idp_initiated_relay_state_is_not_followed(browser, idp, relay_state):
    response = post(browser, idp_initiated_xml(idp), relay_state)
    assert response.status_code in (302, 303)
    assert response["Location"].startswith(DEFAULT_REDIRECT + "?")


# --- SA-05 XML hardening --------------------------------------------------------------------------

XXE = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&xxe;</samlp:Response>"""

LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + ']><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&lol9;'
    + "</samlp:Response>"
)


@pytest.mark.parametrize("xml", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_entities_are_never_resolved(browser, xml):
    response = post(browser, xml)
    assert response.status_code == 303
    assert "root:" not in response["Location"]
    assert query_of(response["Location"])["error"] == "invalid_request"


def test_an_oversized_response_is_refused_before_parsing(browser):
    huge = base64.b64encode(b"<x>" + b"a" * 600_000 + b"</x>").decode()
    response = browser.post_callback({"SAMLResponse": huge, "RelayState": ""})
    assert response.status_code == 303
    assert "too large" in query_of(response["Location"])["error_description"]
