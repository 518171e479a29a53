"""``manage.py hankoflow_send_outbox``: send the pending outbox emails now, in this process.

The same sweep as the ``hankoflow.send_pending_outbox`` beat task (platform.md §7,
security-checks.md RE-03), without Celery: for cron (the retries of a host that sends inline,
``EMAIL_DELIVERY.MODE``), or to flush the outbox by hand while the broker or the workers are
down. Emails leave through the adapter's ``send_mail``, by default the project's
``EMAIL_BACKEND``, as every other path. Safe to run next to the workers: each row is sent once.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.core.management.base import BaseCommand, CommandParser

from hankoflow.adapter import DefaultHankoflowAdapter, get_adapter
from hankoflow.services import mail


class Command(BaseCommand):
    help = "Send pending hankoflow outbox emails (once, synchronously)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            default=mail.SWEEP_AFTER,
            metavar="SECONDS",
            help="only rows at least this old, leaving fresh ones to their task "
            f"(default {mail.SWEEP_AFTER}; 0 sends everything due)",
        )
        parser.add_argument(
            "--limit",
            type=int,
            default=mail.SWEEP_BATCH,
            help=f"at most this many rows (default {mail.SWEEP_BATCH})",
        )

    def handle(self, *args: Any, older_than: int, limit: int, **options: Any) -> None:
        result = mail.sweep(older_than=older_than, limit=limit)
        self.stdout.write(
            f"sent {result.sent}, not sent (delivery disabled) {result.disabled}, "
            f"to retry {result.retry}, failed {result.failed}, skipped {result.skipped}, "
            f"not sent (passcode dead) {result.stale}"
        )
        if options["verbosity"] >= 2 or result.retry or result.failed:
            # The first thing to look at when sending fails (Django's default is SMTP to
            # localhost:25); the errors are in each row's last_error and the log.
            self.stdout.write(f"through {_sender()}")


def _sender() -> str:
    """What the emails went through: the EMAIL_BACKEND, or the project's adapter."""
    adapter = get_adapter()
    if type(adapter).send_mail is DefaultHankoflowAdapter.send_mail:
        return f"EMAIL_BACKEND {django_settings.EMAIL_BACKEND}"
    return f"{type(adapter).__module__}.{type(adapter).__qualname__}.send_mail"
