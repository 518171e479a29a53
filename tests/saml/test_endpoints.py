"""/saml/auth, /saml/metadata, /saml/provider and SAML switched off (§9.6, §3.3.7)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.saml.conftest import DEFAULT_REDIRECT, DOMAIN, needs_xmlsec, query_of

pytestmark = [pytest.mark.slow, needs_xmlsec, pytest.mark.django_db]


def test_auth_sends_the_browser_to_the_idp_with_a_sealed_relay_state(browser, idp):
    started = browser.start()
    assert started.status_code == 307
    location = started["Location"]
    assert location.startswith(f"{idp.url}/sso?")
    query = query_of(location)
    assert query["RelayState"].startswith("hanko_spi_")
    assert "SAMLRequest" in query


def test_redirect_target_outside_the_allow_list_is_refused(browser):
    response = browser.start(redirect_to="https://evil.example.net/x")
    assert response.status_code == 303
    assert response["Location"].startswith(DEFAULT_REDIRECT + "?")
    assert query_of(response["Location"])["error"] == "invalid_request"


def test_host_boundary_of_the_allow_list(browser):
    response = browser.start(redirect_to="https://app.example.com.evil.net/x")
    assert response.status_code == 303


def test_unknown_domain_and_bad_domain(browser):
    for domain in ("other.example.org", "not a domain"):
        response = browser.start(domain=domain)
        assert response.status_code == 303
        assert query_of(response["Location"])["error"] == "invalid_request"


def test_metadata_and_certificate(saml, sp_keys):
    client = Client()
    response = client.get("/saml/metadata", {"domain": DOMAIN})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert "metadata.xml" in response["Content-Disposition"]
    body = response.content.decode()
    assert 'entityID="http://testserver"' in body
    assert "http://testserver/saml/callback" in body
    cert = client.get("/saml/metadata", {"domain": DOMAIN, "cert_only": "true"})
    assert cert.content.decode().strip() == sp_keys[1].strip()
    assert client.get("/saml/metadata", {"domain": "nope.example.org"}).status_code == 404
    assert client.get("/saml/metadata").status_code == 400


def test_legacy_provider(saml, idp):
    client = Client()
    body = client.get("/saml/provider", {"domain": DOMAIN}).json()
    assert body["domain"] == DOMAIN and body["enabled"] is True
    assert body["metadata_url"] == idp.metadata_url
    assert body["attribute_map"]["email"].endswith("/emailaddress")
    assert client.get("/saml/provider", {"domain": "nope.example.org"}).status_code == 404
    assert client.get("/saml/provider").status_code == 400


def test_signed_authn_request_is_accepted_by_an_idp_that_wants_it(browser, idp, saml):
    from hankoflow.services.saml import sp

    saml(OPTIONS={"SIGN_AUTHN_REQUESTS": True, "FORCE_LOGIN": True})
    idp.use_sp_metadata(sp.metadata_xml(), require_signed_requests=True)
    started = browser.start()
    query = query_of(started["Location"])
    assert query["SigAlg"].endswith("rsa-sha256") and query["Signature"]
    assert (
        browser.post_callback(browser.at_identity_provider(started["Location"])).status_code == 302
    )
    assert idp.last_request.force_authn == "true"


def test_unsigned_authn_request_is_refused_by_an_idp_that_wants_it(browser, idp, saml):
    from hankoflow.services.saml import sp

    idp.use_sp_metadata(sp.metadata_xml(), require_signed_requests=True)
    assert browser.at_idp.get(browser.start()["Location"], timeout=10).status_code == 400
