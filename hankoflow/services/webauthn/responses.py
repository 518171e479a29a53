"""Reading untrusted client responses (webauthn-json): every error parsing or verifying one
raises means "invalid response" (WA-08), and a cross-origin ceremony is refused (WA-02)."""

from __future__ import annotations

import binascii
import json
import logging
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from webauthn.helpers.exceptions import WebAuthnException

from hankoflow.services.webauthn.errors import WebauthnInvalid

logger = logging.getLogger("hankoflow.webauthn")

# What parsing and verifying untrusted client JSON may raise (py_webauthn wraps most errors in
# WebAuthnException, but not raw base64 or type errors): all of it means "invalid response".
INPUT_ERRORS = (
    WebAuthnException,
    ValueError,  # includes binascii.Error, UnicodeError, json.JSONDecodeError, cbor2 errors
    binascii.Error,
    KeyError,
    TypeError,
    IndexError,
    AttributeError,
    OverflowError,
    struct.error,
    RecursionError,
)


@contextmanager
def invalid_on_error(what: str) -> Iterator[None]:
    try:
        yield
    except INPUT_ERRORS as exc:
        logger.info("invalid WebAuthn %s: %s", what, exc)
        raise WebauthnInvalid(str(exc)) from exc


def parse(response: Any, parser: Any) -> Any:
    """The library's credential struct of a webauthn-json object (or its JSON string)."""
    if isinstance(response, bytes):
        response = response.decode("utf-8")
    if isinstance(response, str):
        response = json.loads(response)
    if not isinstance(response, dict):
        raise TypeError("the credential is not a JSON object")
    return parser(response)


def check_client_data(client_data_json: bytes) -> None:
    """Refuse a ceremony run inside a cross-origin iframe (WA-02; the library ignores these)."""
    data = json.loads(client_data_json)
    if not isinstance(data, dict):
        raise TypeError("clientDataJSON is not an object")
    if data.get("crossOrigin") is True or data.get("topOrigin") is not None:
        raise ValueError("cross-origin ceremony")
