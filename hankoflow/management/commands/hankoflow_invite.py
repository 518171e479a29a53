"""``manage.py hankoflow_invite EMAIL``: invite a person (beyond Hanko, issue 15).

The invitation email goes through the outbox like any other (sent after the commit, or by
``hankoflow_send_outbox``). ``--language`` picks the email's language; ``--revoke`` revokes the
address's pending invitations instead. The code is only in the email, never printed.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hankoflow.models import Invitation
from hankoflow.services import invitations

ACTOR = {"command": "hankoflow_invite"}


class Command(BaseCommand):
    help = "Invite a person by email, or revoke their pending invitation (--revoke)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="the address to invite")
        parser.add_argument("--language", default="", help="of the email, e.g. de or pt-BR")
        parser.add_argument(
            "--revoke", action="store_true", help="revoke the pending invitation instead"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip().lower()
        if options["revoke"]:
            pending = Invitation.objects.filter(
                email=email, accepted_at__isnull=True, revoked_at__isnull=True
            )
            revoked = sum(invitations.revoke(item, actor=ACTOR) for item in pending)
            if not revoked:
                raise CommandError(f"no pending invitation for {email}")
            self.stdout.write(f"revoked {revoked} invitation(s) for {email}")
            return
        try:
            created = invitations.create(
                email, invited_by="manage.py", language=options["language"], actor=ACTOR
            )
        except invitations.EmailAlreadyRegistered:
            raise CommandError(f"an account already uses {email}") from None
        except ValueError as refused:
            raise CommandError(str(refused)) from None
        new = created.invitation
        self.stdout.write(
            f"invited {new.email} (invitation {new.pk}, expires {new.expires_at.isoformat()})"
        )
