"""Third-party identities and the one-time tokens that hand them to a flow (platform.md §1.11,
§1.12, §9).

An ``Identity`` is an account at an OAuth / OpenID Connect provider (``provider_id`` such as
``google`` or ``custom_<key>``, ``subject`` = the provider's ``sub``), owned by one account.
An ``ExchangeToken`` is made by ``/thirdparty/callback`` and consumed once by the flow action
``exchange_token``; only its SHA-256 digest is stored.
"""

from __future__ import annotations

import uuid

from django.db import models


class Identity(models.Model):
    """An account's identity at one provider; unique per (provider, subject)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        "hankoflow.Account", on_delete=models.CASCADE, related_name="identities"
    )
    provider_id = models.CharField(max_length=255, help_text="e.g. google, custom_<key>")
    subject = models.CharField(max_length=255, help_text="the provider's user id (sub)")
    email = models.CharField(max_length=254, blank=True, default="", help_text="lower-case")
    email_verified = models.BooleanField(default=False)
    # The normalised claims (platform.md §9.4); never tokens.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "hankoflow_identity"
        ordering = ["created_at", "id"]
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(
                fields=["provider_id", "subject"], name="hankoflow_identity_provider_subject"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider_id} {self.subject}"


class ExchangeToken(models.Model):
    """A one-time token for ``exchange_token``: single use, short-lived, hashed at rest."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Hanko: the token value is stored in plain text; we keep its SHA-256 hex digest.
    digest = models.CharField(max_length=64, unique=True)
    account = models.ForeignKey(
        "hankoflow.Account", on_delete=models.CASCADE, related_name="exchange_tokens"
    )
    identity = models.ForeignKey(
        Identity, on_delete=models.CASCADE, related_name="exchange_tokens", null=True
    )
    user_created = models.BooleanField(default=False)
    # Encrypted (services.crypto, purpose "thirdparty"): the PKCE verifier the client must repeat.
    code_verifier = models.TextField(blank=True, default="")
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "hankoflow_exchange_token"

    def __str__(self) -> str:
        return f"exchange token {self.id}"
