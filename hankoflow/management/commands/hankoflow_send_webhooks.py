"""``manage.py hankoflow_send_webhooks``: attempt the pending webhook deliveries now, in this
process.

The same sweep as the ``hankoflow.send_pending_webhooks`` beat task (platform.md §5.5), without
Celery: for cron on hosts without Celery beat (retries of a host that sends inline), or to
catch up by hand after a broker outage. Safe to run next to the workers: each delivery is
attempted under a row lock.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from hankoflow.services import webhooks


class Command(BaseCommand):
    help = "Send pending hankoflow webhook deliveries (once, synchronously)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            default=webhooks.SWEEP_AFTER,
            metavar="SECONDS",
            help="only deliveries at least this old, leaving fresh ones to their task "
            f"(default {webhooks.SWEEP_AFTER}; 0 sends everything due)",
        )
        parser.add_argument(
            "--limit",
            type=int,
            default=webhooks.SWEEP_BATCH,
            help=f"at most this many deliveries (default {webhooks.SWEEP_BATCH})",
        )

    def handle(self, *args: Any, older_than: int, limit: int, **options: Any) -> None:
        result = webhooks.sweep(older_than=older_than, limit=limit)
        self.stdout.write(
            f"sent {result.sent}, to retry {result.retry}, failed {result.failed}, "
            f"skipped {result.skipped}"
        )
