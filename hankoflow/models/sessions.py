"""Session signing keys and server-side session rows (platform.md §1.10, §1.18, §2).

A Hanko session is a signed JWT *and* a ``Session`` row whose id is the token's ``session_id``
claim: deleting the row revokes the token at once. ``SigningKey`` rows hold the RS256 keys;
the private half is stored only Fernet-encrypted with a key derived from ``SECRET_KEY``
(see ``hankoflow.services.jwks``), the public half as the JWK that ``/.well-known/jwks.json``
publishes.
"""

from __future__ import annotations

import uuid

from django.db import models


class SigningKey(models.Model):
    """One RS256 key pair. The newest unretired key signs; every unretired key verifies."""

    id = models.BigAutoField(primary_key=True)
    kid = models.CharField(max_length=64, unique=True, help_text="JWK key id (random UUID)")
    private_key_encrypted = models.TextField(
        help_text="Fernet token of the PKCS#8 PEM private key; never stored in the clear"
    )
    public_jwk = models.JSONField(help_text="public members only: kty, kid, alg, use, n, e")
    created_at = models.DateTimeField(db_index=True)
    retired_at = models.DateTimeField(
        null=True, blank=True, help_text="no longer published nor accepted after this"
    )

    class Meta:
        db_table = "hankoflow_signing_key"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"signing key {self.kid}"


class Session(models.Model):
    """A server-side session; ``id`` equals the JWT's ``session_id`` claim."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        "hankoflow.Account", on_delete=models.CASCADE, related_name="sessions"
    )
    # Empty when not acquired (SESSION.ACQUIRE_USER_AGENT / ACQUIRE_IP_ADDRESS); Hanko: NULL.
    user_agent = models.CharField(max_length=512, blank=True, default="")
    ip_address = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    last_used = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    # When the person last proved who they are in this session: the sign-in, or a later
    # re-authentication in the profile flow (PROFILE.REAUTHENTICATION_MAX_AGE). NULL: created_at.
    authenticated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "hankoflow_session"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "expires_at"], name="hankoflow_session_active")]

    def __str__(self) -> str:
        return f"session {self.id}"
