# ruff: noqa: F811 (the imported fixtures are parameters by name)
"""SA-05: SAML responses signed or digested with SHA-1 are refused, unless the identity
provider's ``ALLOW_SHA1`` lets an old IdP use it. The end-to-end tests run the local pysaml2 IdP
and xmlsec1 (slow); the scan itself is tested on plain XML."""

from __future__ import annotations

import base64

import pytest
from saml2.xmldsig import DIGEST_SHA1, DIGEST_SHA256, SIG_RSA_SHA1, SIG_RSA_SHA256

from hankoflow.models import Identity
from hankoflow.services.saml import assertions
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

ACS = f"{ENDPOINT}/saml/callback"


def end_to_end(test):
    """Against the local IdP, with xmlsec1 (slow)."""
    return pytest.mark.slow(needs_xmlsec(pytest.mark.django_db(test)))


def idp_initiated(idp, **kwargs) -> dict[str, str]:
    encoded = idp.response(in_response_to=None, sp_entity_id=ENDPOINT, acs=ACS, **kwargs)
    return {"SAMLResponse": encoded, "RelayState": ""}


def refused_for_sha1(response) -> None:
    assert response.status_code == 303, response.content
    query = query_of(response["Location"])
    assert "hanko_token" not in query
    assert query["error"] == "invalid_request"
    assert query["error_description"] == "the response is signed with SHA-1"
    assert not Identity.objects.exists()


@pytest.mark.parametrize(
    ("sign_alg", "digest_alg"),
    [(SIG_RSA_SHA1, DIGEST_SHA1), (SIG_RSA_SHA1, DIGEST_SHA256), (SIG_RSA_SHA256, DIGEST_SHA1)],
    ids=["both", "signature", "digest"],
)
@pytest.mark.parametrize("encrypt", [False, True], ids=["plain", "encrypted"])
@end_to_end
def test_a_response_signed_with_sha1_is_refused(browser, idp, sign_alg, digest_alg, encrypt):
    fields = idp_initiated(idp, sign_alg=sign_alg, digest_alg=digest_alg, encrypt=encrypt)
    refused_for_sha1(browser.post_callback(fields))


@end_to_end
def test_a_response_signed_with_sha256_signs_in(browser, idp):
    response = browser.post_callback(idp_initiated(idp))
    assert response.status_code == 302, response["Location"]
    assert "hanko_token" in query_of(response["Location"])


@end_to_end
def test_an_old_idp_may_be_allowed_sha1(browser, idp, saml):
    saml(PROVIDER={"ALLOW_SHA1": True})
    fields = idp_initiated(idp, sign_alg=SIG_RSA_SHA1, digest_alg=DIGEST_SHA1, encrypt=True)
    response = browser.post_callback(fields)
    assert response.status_code == 302, response["Location"]
    assert Identity.objects.get().email == "ada@corp.example.com"


# --- the scan, on plain XML (fast) ----------------------------------------------------------------

DSIG = "http://www.w3.org/2000/09/xmldsig#"


def signed(signature_method: str, digest_method: str, *, prefix: str = "ds") -> str:
    return (
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">'
        '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="a1">'
        f'<{prefix}:Signature xmlns:{prefix}="{DSIG}"><{prefix}:SignedInfo>'
        f'<{prefix}:SignatureMethod Algorithm="{signature_method}"/>'
        f'<{prefix}:Reference URI="#a1"><{prefix}:DigestMethod Algorithm="{digest_method}"/>'
        f"</{prefix}:Reference></{prefix}:SignedInfo></{prefix}:Signature>"
        "</saml:Assertion></samlp:Response>"
    )


def encoded(xml: str) -> str:
    return base64.b64encode(xml.encode()).decode()


@pytest.mark.parametrize(
    "algorithm",
    [
        SIG_RSA_SHA1,
        "http://www.w3.org/2000/09/xmldsig#dsa-sha1",
        "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1",
        f"  {SIG_RSA_SHA1}\n",
    ],
)
def test_every_sha1_signature_method_is_found(algorithm):
    with pytest.raises(assertions.AssertionRefused, match="SHA-1"):
        assertions.refuse_sha1(encoded(signed(algorithm, DIGEST_SHA256)))


def test_a_sha1_digest_is_found_under_any_prefix():
    with pytest.raises(assertions.AssertionRefused, match="SHA-1"):
        assertions.refuse_sha1(encoded(signed(SIG_RSA_SHA256, DIGEST_SHA1, prefix="x")))


def test_a_character_reference_does_not_hide_sha1():
    hidden = signed(SIG_RSA_SHA1, DIGEST_SHA256).replace("rsa-sha1", "rsa-&#115;ha1")
    with pytest.raises(assertions.AssertionRefused, match="SHA-1"):
        assertions.refuse_sha1(encoded(hidden))


def test_sha256_passes_the_scan():
    assertions.refuse_sha1(encoded(signed(SIG_RSA_SHA256, DIGEST_SHA256)))


def test_sha1_in_the_key_transport_of_an_encrypted_assertion_is_no_signature():
    """RSA-OAEP names its digest in a DigestMethod outside any SignedInfo."""
    encrypted = (
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">'
        '<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">'
        '<xenc:EncryptedKey xmlns:xenc="http://www.w3.org/2001/04/xmlenc#">'
        '<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p">'
        f'<ds:DigestMethod xmlns:ds="{DSIG}" Algorithm="{DIGEST_SHA1}"/>'
        "</xenc:EncryptionMethod></xenc:EncryptedKey></saml:EncryptedAssertion></samlp:Response>"
    )
    assertions.refuse_sha1(encoded(encrypted))
