"""TOTP secrets and trusted devices: the second factor and "trust this device" (platform.md §1.9,
§1.13; flow-api.md §4.5.3).

``OTPSecret`` is an account's authenticator app: the base32 secret is stored only Fernet-encrypted
(``hankoflow.services.crypto``, purpose ``"totp"``), with the last time step that was accepted
(RFC 6238 §5.2 replay protection); wrong codes count in the ``AttemptBudget`` (kind ``totp``).
``TrustedDevice`` is one browser that may skip MFA for an account until it expires: only the
SHA-256 of its random token is stored, the token itself lives in the device-trust cookie. Write
both through ``hankoflow.services.totp`` and ``hankoflow.services.device_trust``.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class OTPSecret(models.Model):
    """The TOTP secret of one account (one authenticator app per account)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.OneToOneField(
        "hankoflow.Account", on_delete=models.CASCADE, related_name="otp_secret"
    )
    # Hanko: stores the base32 secret in plain text; we encrypt it (security-checks TO-01).
    secret_encrypted = models.TextField(
        editable=False, help_text="Fernet token of the base32 secret; never stored in the clear"
    )
    last_step = models.BigIntegerField(
        null=True, blank=True, help_text="newest accepted time step; codes of steps <= it refused"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "hankoflow_otp_secret"
        verbose_name = "OTP secret"

    def __str__(self) -> str:
        return f"OTP secret {self.id}"


class TrustedDevice(models.Model):
    """A device that may skip MFA for the account until ``expires_at``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        "hankoflow.Account", on_delete=models.CASCADE, related_name="trusted_devices"
    )
    # Hanko: stores the token itself; we store its hash, so a database read grants no trust.
    token_hash = models.CharField(
        max_length=64, unique=True, help_text="SHA-256 (hex) of the cookie token, never the token"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "hankoflow_trusted_device"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"trusted device {self.id}"
