"""``manage.py hankoflow_jwk``: the session signing keys (platform.md §2.2, §10.3 ``jwk``).

Without options it makes sure a signing key exists (creating the first one) and prints its
``kid``. ``--rotate`` creates a new signing key; the previous ones keep verifying until tokens
they signed have expired, then a later rotation retires them. ``--list`` shows every key.
``--retire KID`` withdraws one key at once (its tokens stop validating; use after a leak). It is
refused for the key that signs (rotate first) and, unless ``--force``, while live sessions may
hold tokens the key signed. The running server processes learn of a retire or rotation through
the shared cache on their next request, or within ``jwks.VERIFICATION_CACHE_SECONDS`` without
one (services/jwks/). ``SESSION.KEY_ROTATION.INTERVAL`` rotates on a schedule (beat task
``hankoflow.rotate_signing_key``).

Hanko: ``hanko jwk create`` only prints a key; keys are stored and rotated through
``secret_keys`` and a restart.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hankoflow.models import SigningKey
from hankoflow.services import jwks


class Command(BaseCommand):
    help = "Create, rotate, list or retire the RS256 keys that sign session tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--rotate", action="store_true", help="create a new signing key")
        group.add_argument("--list", action="store_true", help="list all keys")
        group.add_argument(
            "--retire",
            metavar="KID",
            help="stop publishing and accepting a key that no longer signs",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="with --retire: retire even while live sessions may hold its tokens "
            "(they are signed out)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["force"] and not options["retire"]:
            raise CommandError("--force goes with --retire")
        if options["rotate"]:
            row = jwks.rotate()
            self.stdout.write(f"new signing key {row.kid}")
        elif options["list"]:
            self._list()
        elif options["retire"]:
            try:
                jwks.retire_checked(options["retire"], force=options["force"])
            except jwks.RetireRefused as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(jwks.retired_message(options["retire"]))
        else:
            row = jwks.signing_key_row()
            self.stdout.write(f"signing key {row.kid}")

    def _list(self) -> None:
        signing = SigningKey.objects.filter(retired_at__isnull=True).first()
        rows = SigningKey.objects.order_by("-created_at", "-id")
        if not rows:
            self.stdout.write("no keys yet (one is created on first use or without options)")
            return
        for row in rows:
            if row.retired_at is not None:
                status = f"retired {row.retired_at.isoformat()}"
            elif signing is not None and row.pk == signing.pk:
                status = "signing"
            else:
                status = "verifying"
            self.stdout.write(f"{row.kid}  created {row.created_at.isoformat()}  {status}")
