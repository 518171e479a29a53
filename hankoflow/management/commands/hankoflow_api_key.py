"""``manage.py hankoflow_api_key``: API keys of the admin API (platform.md §4.1).

``create NAME [--scope read|full]`` prints the new key once (only its digest is stored);
``list`` shows every key without its secret; ``revoke PREFIX_OR_ID`` revokes one key, named by
its id or by its prefix as ``list`` shows it (refused when the prefix names several keys).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hankoflow.models import ApiKey
from hankoflow.services import api_keys


class Command(BaseCommand):
    help = "Create, list or revoke API keys of the admin API."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        create = commands.add_parser("create", help="create a key and print it once")
        create.add_argument("name", help="what the key is for, e.g. billing-service")
        create.add_argument(
            "--scope", choices=ApiKey.Scope.values, default=api_keys.READ, help="default: read"
        )
        commands.add_parser("list", help="list the keys (never their secret)")
        revoke = commands.add_parser("revoke", help="revoke a key")
        revoke.add_argument("key", metavar="PREFIX_OR_ID", help="the key's id or prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        command = options["command"]
        if command == "create":
            name = options["name"].strip()
            if not name or len(name) > ApiKey._meta.get_field("name").max_length:
                raise CommandError("NAME must be 1 to 100 characters")
            new = api_keys.create(name, scope=options["scope"], created_by="manage.py")
            self.stdout.write(f"API key {new.key.pk} ({new.key.name}, scope {new.key.scope}):")
            self.stdout.write(new.plaintext)
            self.stdout.write("Store it now: it is not shown again.")
        elif command == "list":
            for key in ApiKey.objects.order_by("created_at"):
                status = "revoked" if key.revoked_at else "active"
                used = key.last_used_at.isoformat() if key.last_used_at else "never"
                self.stdout.write(
                    f"{key.pk}  {key.prefix}…  {key.scope:<4}  {status:<7}  "
                    f"last used {used}  {key.name}"
                )
        else:
            found = api_keys.matching(options["key"])
            if not found:
                raise CommandError(f"no API key {options['key']!r}")
            if len(found) > 1:
                raise CommandError(f"{options['key']!r} names {len(found)} keys: give the id")
            if not api_keys.revoke(found[0]):
                raise CommandError(f"API key {found[0].pk} was revoked already")
            self.stdout.write(f"revoked API key {found[0].pk} ({found[0].name})")
