"""``manage.py hankoflow_import_users FILE``: create users from Hanko's import format
(platform.md §10.4, ``hanko user import``).

The whole file is validated first and every problem printed (JSON errors with line and column,
row errors with the row's index and the line where it starts, duplicates within the file and
against the database); then all rows are imported in one transaction, or none. ``--dry-run``
validates only. The rules live in ``hankoflow.services.user_transfer``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hankoflow.services import user_transfer


class Command(BaseCommand):
    help = (
        "Import users from a JSON file in Hanko's user import format: emails, username, "
        "password hash (bcrypt $2a$ or a Django hash), WebAuthn credentials, TOTP secret. "
        "All or nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the JSON file to import, or - for standard input")
        parser.add_argument(
            "--dry-run", action="store_true", help="validate the file and report; write nothing"
        )
        parser.add_argument(
            "--progress-every",
            type=int,
            default=1000,
            metavar="N",
            help="report progress every N imported users (default 1000)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        every = options["progress_every"]
        if every < 1:
            raise CommandError("--progress-every must be at least 1")
        text = self._read(options["file"])
        result = user_transfer.read_file(text)
        if result.errors:
            for error in result.errors:
                self.stderr.write(str(error))
            raise CommandError(
                f"{len(result.errors)} error(s) in {options['file']}; nothing was imported"
            )
        count = len(result.records)
        if options["dry_run"]:
            self.stdout.write(f"{count} user(s) valid; dry run, nothing was imported")
            return

        def progress(done: int, total: int) -> None:
            self.stderr.write(f"imported {done}/{total}")

        try:
            user_transfer.import_users(result.records, progress=progress, every=every)
        except user_transfer.ImportFailed as exc:
            self.stderr.write(str(exc.error))
            raise CommandError("the import failed; nothing was imported") from exc
        self.stdout.write(f"imported {count} user(s)")

    def _read(self, name: str) -> str:
        if name == "-":
            return sys.stdin.read()
        try:
            return Path(name).read_text(encoding="utf-8-sig")  # a BOM is not JSON
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {name}: {exc}") from exc
