"""``manage.py hankoflow_export_users``: every user (or ``--user-id``) in Hanko's import format
(platform.md §10.4), which ``hankoflow_import_users`` reads back.

Hanko: ``hanko user export`` writes only ids, emails and timestamps; this export also carries
usernames, password hashes (bcrypt in Hanko's ``$2a$`` form, other hashes in Django's own
encoding) and WebAuthn credentials, and TOTP secrets, decrypted, only with
``--include-secrets``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hankoflow.services import user_transfer


class Command(BaseCommand):
    help = (
        "Export users as JSON in Hanko's user import format. Password hashes are included; "
        "TOTP secrets only with --include-secrets."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-o", "--output", metavar="FILE", help="write to FILE instead of standard output"
        )
        parser.add_argument(
            "--user-id",
            action="append",
            metavar="UUID",
            help="export only this Hanko user id (repeatable)",
        )
        parser.add_argument(
            "--include-secrets",
            action="store_true",
            help="include decrypted TOTP secrets (keep the file safe)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user_ids = None
        if options["user_id"]:
            try:
                user_ids = [uuid.UUID(value) for value in options["user_id"]]
            except ValueError as exc:
                raise CommandError(f"--user-id: not a UUID ({exc})") from exc
        secrets = options["include_secrets"]
        if secrets:
            self.stderr.write(
                "warning: the export holds TOTP secrets in clear text; keep the file safe"
            )
        elif with_totp := user_transfer.has_otp_secret(user_ids):
            self.stderr.write(
                f"warning: {with_totp} TOTP secret(s) left out; pass --include-secrets to keep "
                "authenticator apps working after an import"
            )
        entries = user_transfer.export_users(user_ids, include_secrets=secrets)
        if options["output"]:
            try:
                with Path(options["output"]).open("w", encoding="utf-8") as out:
                    count = _write(entries, out.write)
            except OSError as exc:
                raise CommandError(f"cannot write {options['output']}: {exc}") from exc
            self.stderr.write(f"exported {count} user(s) to {options['output']}")
        else:
            count = _write(entries, lambda text: self.stdout.write(text, ending=""))
        if user_ids is not None and count < len(set(user_ids)):
            raise CommandError(f"{len(set(user_ids)) - count} --user-id value(s) name no user")


def _write(entries: Iterable[dict[str, Any]], write: Callable[[str], Any]) -> int:
    """A JSON array, one indented user after another (so import errors name useful lines)."""
    count = 0
    write("[")
    for entry in entries:
        write("," if count else "")
        write("\n" + json.dumps(entry, indent=2, ensure_ascii=False))
        count += 1
    write("\n]\n")
    return count
