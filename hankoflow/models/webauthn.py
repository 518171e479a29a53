"""WebAuthn credentials (passkeys and security keys) and ceremony challenges (platform.md §1.8).

A ``WebauthnCredential`` is Hanko's ``webauthn_credentials`` row with its transports kept as a
JSON list (Hanko: a ``webauthn_credential_transports`` table). ``mfa_only`` marks a security key,
usable only as a second factor. The primary key is the base64url credential id, so a credential
id can never be registered twice, for any account (security-checks WA-07).

A ``WebauthnChallenge`` is Hanko's ``webauthn_session_data``: one registration or
authentication ceremony, bound to its flow and user, with its expiry and the moment it was
consumed (a challenge is single-use, successful or not: WA-01). Write both through
``hankoflow.services.webauthn``.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

# A credential id is at most 1023 bytes (WebAuthn L3 §7.1), 1364 base64url characters.
MAX_CREDENTIAL_ID_BYTES = 1023


class WebauthnCredential(models.Model):
    """A public-key credential of an account: a passkey, or a security key (``mfa_only``)."""

    id = models.CharField(
        primary_key=True, max_length=1368, help_text="credential id, base64url without padding"
    )
    account = models.ForeignKey(
        "hankoflow.Account", on_delete=models.CASCADE, related_name="webauthn_credentials"
    )
    public_key = models.TextField(help_text="COSE public key, base64url without padding")
    sign_count = models.BigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True, help_text='e.g. ["internal"]')
    # Hanko: the nil UUID when unknown; we keep what the authenticator reported.
    aaguid = models.UUIDField(null=True, blank=True)
    attestation_type = models.CharField(max_length=32, help_text="e.g. none, packed")
    backup_eligible = models.BooleanField(default=False)
    backup_state = models.BooleanField(default=False)
    name = models.CharField(max_length=255, blank=True)
    mfa_only = models.BooleanField(default=False, help_text="a security key (second factor)")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "hankoflow_webauthn_credential"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        kind = "security key" if self.mfa_only else "passkey"
        return f"{kind} {self.id[:16]}"


class WebauthnChallenge(models.Model):
    """One WebAuthn ceremony's challenge; consumed by the first verification attempt."""

    class Ceremony(models.TextChoices):
        REGISTRATION = "registration"
        AUTHENTICATION = "authentication"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    flow_id = models.UUIDField(null=True, blank=True, db_index=True)
    ceremony = models.CharField(max_length=16, choices=Ceremony.choices)
    challenge = models.CharField(
        max_length=128, unique=True, help_text="base64url of 64 random bytes"
    )
    user_id = models.UUIDField(
        null=True, blank=True, help_text="the account id; empty for a discoverable login"
    )
    user_verification = models.CharField(max_length=16, help_text="required|preferred|discouraged")
    allowed_credential_ids = models.JSONField(default=list, blank=True)
    mfa = models.BooleanField(default=False, help_text="an authentication as a second factor")
    mfa_only = models.BooleanField(default=False, help_text="registers a security key")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "hankoflow_webauthn_challenge"
        indexes = [models.Index(fields=["expires_at"], name="hankoflow_wa_challenge_expiry")]

    def __str__(self) -> str:
        return f"{self.ceremony} challenge {self.id}"
