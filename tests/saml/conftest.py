"""A real SAML identity provider on 127.0.0.1 (``tests/saml/idp.py``, pysaml2) and hankoflow
configured as its service provider, with keys made at test time; ``SamlBrowser`` walks a
browser's way: ``/saml/auth`` → the IdP's SSO page → ``POST /saml/callback`` → the token."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.cache import cache
from django.test import Client

from tests.saml.idp import IdP, form_fields, key_and_certificate, serve

ENDPOINT = "http://testserver"
APP = "https://app.example.com"
RETURN_TO = f"{APP}/signed-in"
DEFAULT_REDIRECT = f"{APP}/saml"
DOMAIN = "corp.example.com"

needs_xmlsec = pytest.mark.skipif(not shutil.which("xmlsec1"), reason="xmlsec1 is not installed")


@pytest.fixture(scope="session")
def sp_keys() -> tuple[str, str]:
    return key_and_certificate("hankoflow test sp")


@pytest.fixture(scope="session")
def idp() -> Iterator[IdP]:
    server, httpd = serve()
    yield server
    httpd.shutdown()
    shutil.rmtree(server.workdir, ignore_errors=True)


def saml_settings(sp_keys, metadata_url: str, **overrides) -> dict:
    key_pem, cert_pem = sp_keys
    provider = {
        "ENABLED": True,
        "NAME": "Corp",
        "DOMAIN": DOMAIN,
        "METADATA_URL": metadata_url,
        "SKIP_EMAIL_VERIFICATION": False,
        "ATTRIBUTE_MAP": {"email_verified": "http://schemas.auth0.com/email_verified"},
        **overrides.pop("PROVIDER", {}),
    }
    return {
        "SAML": {
            "ENABLED": True,
            "ENDPOINT_URL": ENDPOINT,
            "DEFAULT_REDIRECT_URL": DEFAULT_REDIRECT,
            "ALLOWED_REDIRECT_URLS": [f"{APP}/**"],
            "SP_CERTIFICATE": cert_pem,
            "SP_PRIVATE_KEY": key_pem,
            "IDENTITY_PROVIDERS": [provider],
            **overrides,
        }
    }


@pytest.fixture
def saml(settings, sp_keys, idp):
    """SAML on with the local IdP for ``corp.example.com``; call it again with overrides."""
    from hankoflow.services.saml import sp

    def configure(**overrides) -> None:
        settings.HANKOFLOW = saml_settings(sp_keys, idp.metadata_url, **overrides)
        cache.clear()
        idp.use_sp_metadata(sp.metadata_xml())

    configure()
    yield configure
    cache.clear()


class SamlBrowser:
    """One browser: Django's test client for hankoflow, ``requests`` for the IdP."""

    def __init__(self, idp: IdP) -> None:
        self.idp = idp
        self.client = Client()
        self.at_idp = requests.Session()

    def start(self, redirect_to: str = RETURN_TO, domain: str = DOMAIN):
        return self.client.get("/saml/auth", {"domain": domain, "redirect_to": redirect_to})

    def at_identity_provider(self, location: str) -> dict[str, str]:
        """Follow the redirect to the IdP; the fields its form would post to the ACS."""
        page = self.at_idp.get(location, timeout=10)
        assert page.status_code == 200, page.text
        return form_fields(page.text)

    def post_callback(self, fields: dict[str, str]):
        return self.client.post("/saml/callback", fields)

    def sign_in(self, redirect_to: str = RETURN_TO):
        started = self.start(redirect_to)
        assert started.status_code == 307, started.content
        return self.post_callback(self.at_identity_provider(started["Location"]))


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.fixture
def browser(idp, saml) -> SamlBrowser:
    return SamlBrowser(idp)
