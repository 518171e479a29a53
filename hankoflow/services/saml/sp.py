"""hankoflow as pysaml2's service provider: its configuration, keys and metadata.

pysaml2 signs and verifies through the ``xmlsec1`` binary, which reads keys from files: the SP
certificate and key from the settings are written once per process to a private temporary
directory (mode 0600), named by their digest so a changed setting gets new files.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import threading
from functools import lru_cache
from typing import Any

from hankoflow.conf import settings
from hankoflow.services.saml import metadata
from hankoflow.services.saml.providers import IdentityProvider

_lock = threading.Lock()
_key_dir: str | None = None


class NotConfigured(Exception):
    """pysaml2 or xmlsec1 is missing, or the SP certificate/key or ENDPOINT_URL is not set."""


def endpoint_url() -> str:
    return settings.SAML.ENDPOINT_URL.rstrip("/")


def entity_id() -> str:
    """The SP's entity id and issuer: ``SAML.ENDPOINT_URL``."""
    return endpoint_url()


def audience() -> str:
    return settings.SAML.AUDIENCE_URI or entity_id()


def acs_url() -> str:
    return f"{endpoint_url()}/saml/callback"


def installed() -> bool:
    """Whether pysaml2 (the ``saml`` extra) can be imported."""
    try:
        import saml2  # noqa: F401
    except ImportError:
        return False
    return True


def xmlsec_binary() -> str:
    found = shutil.which("xmlsec1")
    if not found:
        raise NotConfigured("the xmlsec1 binary is not installed (apt: xmlsec1)")
    return found


def client(
    provider: IdentityProvider | None,
    *,
    unsolicited: bool = False,
    audience_uri: str | None = None,
) -> Any:
    """A pysaml2 ``Saml2Client`` that knows only ``provider``'s metadata (None: no IdP, for
    the SP metadata). ``unsolicited`` allows IdP-initiated responses."""
    try:
        from saml2.client import Saml2Client
        from saml2.config import SPConfig
    except ImportError as exc:  # pragma: no cover - the `saml` extra is not installed
        raise NotConfigured("pysaml2 is not installed (the `saml` extra)") from exc
    config = SPConfig()
    config.load(_config(provider, unsolicited=unsolicited, audience_uri=audience_uri))
    return Saml2Client(config=config)


def metadata_xml() -> str:
    """The SP's metadata: EntityDescriptor with the ACS and the signing certificate."""
    from saml2.metadata import create_metadata_string

    sp = client(None)
    return create_metadata_string(None, config=sp.config, valid=None).decode()


def certificate_pem() -> str:
    return settings.SAML.SP_CERTIFICATE.strip() + "\n"


def _config(
    provider: IdentityProvider | None, *, unsolicited: bool, audience_uri: str | None
) -> dict[str, Any]:
    from saml2 import BINDING_HTTP_POST
    from saml2.saml import NAMEID_FORMAT_UNSPECIFIED

    if not endpoint_url():
        raise NotConfigured("SAML.ENDPOINT_URL is not set")
    key_file, cert_file = _key_files(settings.SAML.SP_PRIVATE_KEY, settings.SAML.SP_CERTIFICATE)
    options = settings.SAML.OPTIONS
    config: dict[str, Any] = {
        # pysaml2 checks the assertion's audience against its own entity id.
        "entityid": audience_uri or entity_id(),
        "xmlsec_binary": xmlsec_binary(),
        "key_file": key_file,
        "cert_file": cert_file,
        "encryption_keypairs": [{"key_file": key_file, "cert_file": cert_file}],
        "accepted_time_diff": CLOCK_SKEW,
        "service": {
            "sp": {
                "endpoints": {"assertion_consumer_service": [(acs_url(), BINDING_HTTP_POST)]},
                "allow_unsolicited": unsolicited,
                "authn_requests_signed": bool(options.SIGN_AUTHN_REQUESTS),
                # Hanko: a signature on the response or the assertion will do; we require the
                # assertion itself to be signed (what we read comes from it).
                "want_assertions_signed": True,
                "want_response_signed": False,
                "name_id_format": [NAMEID_FORMAT_UNSPECIFIED],
                "name_id_format_allow_create": True,
            }
        },
    }
    if provider is not None:
        config["metadata"] = {"inline": [metadata.xml(provider)]}
    return config


CLOCK_SKEW = 60  # seconds of clock difference tolerated between the IdP and us


def _key_files(key_pem: str, cert_pem: str) -> tuple[str, str]:
    if not key_pem or not cert_pem:
        raise NotConfigured("SAML.SP_CERTIFICATE and SAML.SP_PRIVATE_KEY must be set")
    return _write(key_pem), _write(cert_pem)


@lru_cache(maxsize=16)
def _write(pem: str) -> str:
    global _key_dir
    with _lock:
        if _key_dir is None or not os.path.isdir(_key_dir):
            _key_dir = tempfile.mkdtemp(prefix="hankoflow-saml-")
            atexit.register(shutil.rmtree, _key_dir, True)
        path = os.path.join(_key_dir, hashlib.sha256(pem.encode()).hexdigest() + ".pem")
        if not os.path.exists(path):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(pem.strip() + "\n")
        return path
