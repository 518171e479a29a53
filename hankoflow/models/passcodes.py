"""Email passcodes (platform.md §1.7, §7.2).

A ``Passcode`` is one emailed one-time code: only an HMAC of it is stored, with its try counter,
expiry and the moment it was consumed. Wrong codes also count against the address's
``AttemptBudget`` (kind ``passcode``), so asking for a new code never buys a fresh set of guesses
(security-checks PC-05, NIST SP 800-63B-4 §3.1.3.2). Write it through
``hankoflow.services.passcodes``.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class Passcode(models.Model):
    """One emailed code. Usable while unexpired, unused and under its try limit."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.CharField(max_length=254, help_text="the address it was sent to, lower-case")
    # Hanko: v3 flows leave the user empty; we keep the account when the flow knows it.
    account = models.ForeignKey(
        "hankoflow.Account",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="passcodes",
    )
    flow_id = models.UUIDField(null=True, blank=True, db_index=True)
    # Hanko: bcrypt (cost 12). A 6-character code has ~20-34 bits however slowly it is hashed;
    # what protects it is the try limit, so a keyed HMAC-SHA256 with a per-row salt is enough.
    code_hash = models.CharField(max_length=128, help_text="salt$HMAC-SHA256, never the code")
    tries = models.PositiveSmallIntegerField(default=0, help_text="verification attempts")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "hankoflow_passcode"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["expires_at"], name="hankoflow_passcode_expiry")]

    def __str__(self) -> str:
        return f"passcode {self.id}"
