"""``manage.py hankoflow_cleanup``: delete the rows that no longer matter (services/cleanup.py).

Expired flows, passcodes, WebAuthn challenges, sessions and trusted devices; attempt budgets
that count nothing any more; sent and failed outbox emails older than
``EMAIL_DELIVERY.OUTBOX_RETENTION``; audit log entries older than ``AUDIT_LOG.RETENTION``.
Deletes in batches, each in its own transaction; prints the count per table. The beat task
``hankoflow.cleanup`` does the same.

Hanko: ``hanko cleanup`` is a dry run unless given ``--run``; ours deletes unless ``--dry-run``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from hankoflow.services import cleanup


class Command(BaseCommand):
    help = (
        "Delete expired flows, passcodes, WebAuthn challenges, sessions, trusted devices and "
        "attempt budgets, and outbox emails and audit log entries past their retention."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be deleted, delete nothing"
        )
        parser.add_argument(
            "--only",
            action="append",
            choices=cleanup.NAMES,
            metavar="TABLE",
            help=f"only this table (repeatable): {', '.join(cleanup.NAMES)}",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=cleanup.BATCH_SIZE,
            help=f"rows per delete transaction (default {cleanup.BATCH_SIZE})",
        )

    def handle(self, *args: Any, dry_run: bool, only: list[str] | None, **options: Any) -> None:
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        verbose = options["verbosity"] >= 2

        def progress(name: str, deleted: int) -> None:
            if verbose:
                self.stdout.write(f"  {name}: {deleted} deleted so far")

        try:
            counts = cleanup.run(
                dry_run=dry_run, only=only, batch_size=batch_size, progress=progress
            )
        except DatabaseError as exc:
            raise CommandError(f"cleanup failed: {exc}") from exc
        verb = "would delete" if dry_run else "deleted"
        width = max(len(name) for name in counts)
        for name, count in counts.items():
            self.stdout.write(f"{name:<{width}}  {verb} {count}")
        self.stdout.write(f"{'total':<{width}}  {verb} {sum(counts.values())}")
