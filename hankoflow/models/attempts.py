"""Failed-attempt counters of every secret a person proves (security-checks PW-06, PC-05, TO-05).

One ``AttemptBudget`` row counts the consecutive failures of one kind of secret (``password``,
``passcode``, ``totp``, ...) for one subject (an account id, or a normalised email address for
passcodes) from one client network, and one more row (network ``"*"``) counts them across all
networks. The counters are ephemeral: a row may be deleted once its last failure is a day old
and its last success older than the time a network stays known. Write them through
``hankoflow.services.attempts``.
"""

from __future__ import annotations

from django.db import models

ALL_NETWORKS = "*"
"""The ``network`` of the row that counts a subject's failures from every network."""


class AttemptBudget(models.Model):
    """Consecutive failures of one kind of secret, for one subject, from one network (or all)."""

    kind = models.CharField(max_length=32, help_text="password, passcode, totp, ...")
    subject = models.CharField(
        max_length=254, help_text="account id, or the normalised address for passcodes"
    )
    network = models.CharField(
        max_length=64, help_text='client network (IPv4 /24, IPv6 /64), or "*" for all networks'
    )
    failures = models.PositiveIntegerField(
        default=0, help_text="failures since the last success (forgotten after a quiet day)"
    )
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "hankoflow_attempt_budget"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject", "network"], name="hankoflow_attempt_budget_key"
            )
        ]
        # For pruning rows whose failures and successes have both aged out.
        indexes = [
            models.Index(fields=["last_failure_at"], name="hankoflow_attempt_failure"),
            models.Index(fields=["last_success_at"], name="hankoflow_attempt_success"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} attempts of {self.subject} from {self.network}"
