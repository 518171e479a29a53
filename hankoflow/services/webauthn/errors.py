"""What a ceremony raises when something does not verify (WA-08: never another exception)."""

from __future__ import annotations


class WebauthnInvalid(Exception):
    """The response (or its challenge) does not verify; the flow answers ``passkey_invalid``."""


class MfaOnlyCredential(WebauthnInvalid):
    """A security key was used as a first factor (``webauthn_credential_invalid_mfa_only``)."""


class CredentialExists(WebauthnInvalid):
    """The credential id is already registered (for this or another account)."""
