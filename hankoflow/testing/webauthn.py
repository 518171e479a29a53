"""A software WebAuthn authenticator for tests (security-checks.md §5.4).

``SoftAuthenticator`` answers the ``{"publicKey": ...}`` options hankoflow sends with the
``@github/webauthn-json`` serialisation a browser running hanko-elements would post: ``create()``
makes an ES256 credential with a ``none`` attestation and keeps it, ``get()`` signs an assertion
with it. Every part a relying party checks can be overridden to build tampered responses: the
origin, RP ID, challenge, flags (UP, UV, BE, BS), sign count, user handle, extra client data
(``crossOrigin``, ``type``) and the signature. ``clone()`` copies the authenticator with its keys
and counters, for sign-count regression tests.

Public so projects embedding hankoflow can test their own passkey integration::

    device = SoftAuthenticator("https://app.example.com")
    attestation = device.create(state.payload["creation_options"])
    assertion = device.get(state.payload["request_options"])
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

__all__ = ["SoftAuthenticator", "SoftCredential", "b64url", "from_b64url"]

_UP, _UV, _BE, _BS, _AT = 0x01, 0x04, 0x08, 0x10, 0x40
_COSE_ES256 = -7
_UNSET: Any = ...


def b64url(data: bytes) -> str:
    """Base64url without padding, as WebAuthn JSON carries bytes."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class SoftCredential:
    """One credential held by the authenticator (the private key never leaves it)."""

    id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0
    backup_eligible: bool = False
    backup_state: bool = False

    @property
    def id_b64(self) -> str:
        return b64url(self.id)


class SoftAuthenticator:
    """An authenticator with any number of ES256 credentials, answering from ``origin``."""

    def __init__(
        self,
        origin: str,
        rp_id: str | None = None,
        *,
        transports: Sequence[str] = ("internal",),
        attachment: str | None = "platform",
        aaguid: bytes = bytes(16),
    ) -> None:
        self.origin = origin
        self.rp_id = rp_id or urlsplit(origin).hostname or ""
        self.transports = list(transports)
        self.attachment = attachment
        self.aaguid = aaguid
        self.credentials: dict[bytes, SoftCredential] = {}

    # --- registration ---------------------------------------------------------------------------

    def create(
        self,
        options: dict[str, Any],
        *,
        user_verified: bool = True,
        user_present: bool = True,
        backup_eligible: bool = False,
        backup_state: bool = False,
        origin: str | None = None,
        rp_id: str | None = None,
        challenge: str | bytes | None = None,
        credential_id: bytes | None = None,
        client_data_extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A new credential for ``navigator.credentials.create(options)`` (attestation ``none``).

        The credential is kept for later ``get()`` calls. ``credential_id`` forces its id (for
        duplicate or over-long ids); the other keywords tamper with what is signed or sent.
        """
        public_key = _public_key_options(options)
        rp_id = rp_id or public_key.get("rp", {}).get("id") or self.rp_id
        credential = SoftCredential(
            id=credential_id if credential_id is not None else os.urandom(32),
            private_key=ec.generate_private_key(ec.SECP256R1()),
            rp_id=rp_id,
            user_handle=from_b64url(public_key["user"]["id"]),
            backup_eligible=backup_eligible,
            backup_state=backup_state,
        )
        self.credentials[credential.id] = credential
        flags = _flags(user_present, user_verified, backup_eligible, backup_state) | _AT
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([flags])
            + struct.pack(">I", 0)
            + self.aaguid
            + struct.pack(">H", len(credential.id) & 0xFFFF)
            + credential.id
            + _cose_key(credential.private_key.public_key())
        )
        attestation_object = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data(
            "webauthn.create", public_key, challenge, origin, client_data_extra
        )
        result: dict[str, Any] = {
            "id": credential.id_b64,
            "rawId": credential.id_b64,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation_object),
                "transports": list(self.transports),
            },
            "clientExtensionResults": {},
        }
        if self.attachment:
            result["authenticatorAttachment"] = self.attachment
        return result

    # --- authentication -------------------------------------------------------------------------

    def get(
        self,
        options: dict[str, Any],
        *,
        credential_id: bytes | str | None = None,
        user_verified: bool = True,
        user_present: bool = True,
        sign_count: int | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
        challenge: str | bytes | None = None,
        user_handle: bytes | str | None = _UNSET,
        backup_eligible: bool | None = None,
        backup_state: bool | None = None,
        corrupt_signature: bool = False,
        client_data_extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """An assertion for ``navigator.credentials.get(options)``.

        Uses ``credential_id`` (bytes or base64url), else the first allowed credential this
        authenticator holds, else (discoverable) its newest credential for the RP ID. The sign
        count is incremented and kept unless ``sign_count`` is given (then used as is, and
        kept). ``user_handle`` defaults to the credential's; ``None`` sends ``null``.
        """
        public_key = _public_key_options(options)
        rp_id = rp_id or public_key.get("rpId") or self.rp_id
        credential = self._pick(public_key, credential_id)
        count = credential.sign_count + 1 if sign_count is None else sign_count
        credential = replace(credential, sign_count=count)
        self.credentials[credential.id] = credential
        be = credential.backup_eligible if backup_eligible is None else backup_eligible
        bs = credential.backup_state if backup_state is None else backup_state
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([_flags(user_present, user_verified, be, bs)])
            + struct.pack(">I", count & 0xFFFFFFFF)
        )
        client_data = self._client_data(
            "webauthn.get", public_key, challenge, origin, client_data_extra
        )
        signature = credential.private_key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        if corrupt_signature:
            signature = signature[:-1] + bytes([signature[-1] ^ 0x01])
        if user_handle is _UNSET:
            handle: str | None = b64url(credential.user_handle)
        elif isinstance(user_handle, bytes):
            handle = b64url(user_handle)
        else:
            handle = user_handle
        result: dict[str, Any] = {
            "id": credential.id_b64,
            "rawId": credential.id_b64,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": handle,
            },
            "clientExtensionResults": {},
        }
        if self.attachment:
            result["authenticatorAttachment"] = self.attachment
        return result

    # --- helpers --------------------------------------------------------------------------------

    def clone(self) -> SoftAuthenticator:
        """An independent copy with the same keys and counters (a cloned authenticator)."""
        copy = SoftAuthenticator(
            self.origin,
            self.rp_id,
            transports=self.transports,
            attachment=self.attachment,
            aaguid=self.aaguid,
        )
        copy.credentials = dict(self.credentials)  # SoftCredential is immutable
        return copy

    def credential(self, credential_id: bytes | str | None = None) -> SoftCredential:
        """A held credential (by id), or the newest one."""
        if credential_id is None:
            return list(self.credentials.values())[-1]
        key = from_b64url(credential_id) if isinstance(credential_id, str) else credential_id
        return self.credentials[key]

    def _pick(
        self, public_key: dict[str, Any], credential_id: bytes | str | None
    ) -> SoftCredential:
        if credential_id is not None:
            return self.credential(credential_id)
        for allowed in public_key.get("allowCredentials") or []:
            found = self.credentials.get(from_b64url(allowed["id"]))
            if found is not None:
                return found
        if public_key.get("allowCredentials"):
            raise LookupError("this authenticator holds none of the allowed credentials")
        rp_id = public_key.get("rpId") or self.rp_id
        matching = [c for c in self.credentials.values() if c.rp_id == rp_id]
        if not matching:
            raise LookupError(f"this authenticator holds no credential for {rp_id!r}")
        return matching[-1]

    def _client_data(
        self,
        type_: str,
        public_key: dict[str, Any],
        challenge: str | bytes | None,
        origin: str | None,
        extra: dict[str, Any] | None,
    ) -> bytes:
        if challenge is None:
            challenge = public_key["challenge"]
        elif isinstance(challenge, bytes):
            challenge = b64url(challenge)
        data = {
            "type": type_,
            "challenge": challenge,
            "origin": origin or self.origin,
            "crossOrigin": False,
            **(extra or {}),
        }
        return json.dumps(data, separators=(",", ":")).encode()


def _public_key_options(options: dict[str, Any]) -> dict[str, Any]:
    """The inner ``publicKey`` options (accepts the Hanko payload or the inner object)."""
    return options.get("publicKey", options)


def _flags(user_present: bool, user_verified: bool, be: bool, bs: bool) -> int:
    return (
        (_UP if user_present else 0)
        | (_UV if user_verified else 0)
        | (_BE if be else 0)
        | (_BS if bs else 0)
    )


def _cose_key(public_key: ec.EllipticCurvePublicKey) -> bytes:
    numbers = public_key.public_numbers()
    return cbor2.dumps(
        {
            1: 2,  # kty: EC2
            3: _COSE_ES256,  # alg
            -1: 1,  # crv: P-256
            -2: numbers.x.to_bytes(32, "big"),
            -3: numbers.y.to_bytes(32, "big"),
        }
    )
