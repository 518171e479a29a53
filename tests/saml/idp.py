"""A real SAML 2.0 identity provider on 127.0.0.1 for the tests: pysaml2's ``Server`` behind a
small threaded HTTP server, with a key and certificate made at test time.

``GET /metadata`` serves its metadata; ``GET /sso`` (HTTP-Redirect binding) reads the
AuthnRequest (checked against the SP metadata) and answers the auto-submit form a browser would
post to the ACS, signed for the person in ``IdP.user``. ``IdP.response()`` makes a response
directly (IdP-initiated, unsigned, other audience, ...) for the refusal tests.
"""

from __future__ import annotations

import base64
import datetime
import html
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
AUTH0_VERIFIED = "http://schemas.auth0.com/email_verified"


def key_and_certificate(common_name: str) -> tuple[str, str]:
    """A fresh RSA-2048 key and a self-signed certificate, both PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


@dataclass
class Person:
    name_id: str
    email: str
    given_name: str = "Ada"
    family_name: str = "Lovelace"
    email_verified: bool = True


@dataclass
class IdP:
    url: str
    workdir: Path
    sp_metadata: str = ""
    user: Person = field(default_factory=lambda: Person("ada-1", "ada@corp.example.com"))
    _server: Server | None = None
    last_request: object = None  # the last AuthnRequest the SSO endpoint accepted
    require_signed_requests: bool = False
    metadata_hits: int = 0

    @property
    def entity_id(self) -> str:
        return f"{self.url}/metadata"

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/metadata"

    def server(self) -> Server:
        if self._server is None:
            if not (self.workdir / "idp.key").exists():  # one key pair for the IdP's life
                key_pem, cert_pem = key_and_certificate("test idp")
                (self.workdir / "idp.key").write_text(key_pem)
                (self.workdir / "idp.crt").write_text(cert_pem)
            config = IdPConfig()
            config.load(
                {
                    "entityid": self.entity_id,
                    "xmlsec_binary": shutil.which("xmlsec1"),
                    "key_file": str(self.workdir / "idp.key"),
                    "cert_file": str(self.workdir / "idp.crt"),
                    "metadata": {"inline": [self.sp_metadata]} if self.sp_metadata else {},
                    "service": {
                        "idp": {
                            "endpoints": {
                                "single_sign_on_service": [
                                    (f"{self.url}/sso", BINDING_HTTP_REDIRECT),
                                ]
                            },
                            "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                            "want_authn_requests_signed": self.require_signed_requests,
                            "policy": {
                                "default": {
                                    "lifetime": {"minutes": 5},
                                    "attribute_restrictions": None,
                                    "name_form": NAME_FORMAT_URI,
                                }
                            },
                        }
                    },
                }
            )
            self._server = Server(config=config)
        return self._server

    def metadata_xml(self) -> str:
        from saml2.metadata import create_metadata_string

        return create_metadata_string(None, config=self.server().config, valid=None).decode()

    def use_sp_metadata(self, xml: str, *, require_signed_requests: bool = False) -> None:
        self.sp_metadata = xml
        self.require_signed_requests = require_signed_requests
        self._server = None

    def response(
        self,
        *,
        in_response_to: str | None,
        sp_entity_id: str,
        acs: str,
        sign_assertion: bool = True,
        encrypt: bool = False,
        sign_alg: str = SIG_RSA_SHA256,
        digest_alg: str = DIGEST_SHA256,
    ) -> str:
        """A base64 SAMLResponse for ``self.user`` (signed with SHA-256: pysaml2's default,
        SHA-1, is refused unless the provider allows it)."""
        server = self.server()
        person = self.user
        identity = {
            CLAIMS + "emailaddress": [person.email],
            CLAIMS + "givenname": [person.given_name],
            CLAIMS + "surname": [person.family_name],
            AUTH0_VERIFIED: ["true" if person.email_verified else "false"],
        }
        name_id = NameID(format=NAMEID_FORMAT_PERSISTENT, text=person.name_id)
        xml = server.create_authn_response(
            identity,
            in_response_to,
            acs,
            sp_entity_id,
            name_id=name_id,
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"},
            sign_assertion=sign_assertion,
            sign_response=False,
            sign_alg=sign_alg,
            digest_alg=digest_alg,
            # The SP's encryption certificate comes from its metadata.
            encrypt_assertion=encrypt,
            encrypt_assertion_self_contained=True,
        )
        return base64.b64encode(str(xml).encode()).decode()

    def answer_sso(self, query: str) -> tuple[str, str, str]:
        """(ACS URL, SAMLResponse, RelayState) for an HTTP-Redirect AuthnRequest."""
        params = parse_qs(query)
        server = self.server()
        relay_state = params.get("RelayState", [""])[0]
        signature = {}
        if "Signature" in params:  # the IdP checks a signed request against the SP metadata
            signature = {
                "relay_state": relay_state,
                "sigalg": params["SigAlg"][0],
                "signature": params["Signature"][0],
            }
        request = server.parse_authn_request(
            params["SAMLRequest"][0], BINDING_HTTP_REDIRECT, **signature
        )
        self.last_request = request.message
        message = request.message
        acs = message.assertion_consumer_service_url or server.config.getattr("endpoints", "sp")
        saml_response = self.response(
            in_response_to=message.id, sp_entity_id=message.issuer.text, acs=acs
        )
        return acs, saml_response, relay_state


def form_fields(page: str) -> dict[str, str]:
    """The hidden fields of an auto-submit form."""
    found = re.findall(r'name="([^"]+)"\s+value="([^"]*)"', page)
    return {k: html.unescape(v) for k, v in found}


def serve() -> tuple[IdP, ThreadingHTTPServer]:
    """Start the IdP on a free port of 127.0.0.1 (the caller shuts the server down)."""
    workdir = Path(tempfile.mkdtemp(prefix="hankoflow-test-idp-"))
    holder: dict[str, IdP] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            idp = holder["idp"]
            parts = urlsplit(self.path)
            if parts.path == "/metadata":
                idp.metadata_hits += 1
                self._send(200, idp.metadata_xml(), "application/samlmetadata+xml")
            elif parts.path == "/sso":
                try:
                    acs, response, relay = idp.answer_sso(parts.query)
                except Exception as exc:  # the test sees the IdP's refusal
                    self._send(400, f"bad request: {exc}", "text/plain")
                    return
                page = (
                    f'<form method="post" action="{html.escape(acs)}">'
                    f'<input type="hidden" name="SAMLResponse" value="{html.escape(response)}"/>'
                    f'<input type="hidden" name="RelayState" value="{html.escape(relay)}"/>'
                    "</form>"
                )
                self._send(200, page, "text/html")
            else:
                self._send(404, "not found", "text/plain")

        def _send(self, status: int, body: str, content_type: str) -> None:
            raw = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    idp = IdP(url=f"http://127.0.0.1:{httpd.server_address[1]}", workdir=workdir)
    holder["idp"] = idp
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return idp, httpd
