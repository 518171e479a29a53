"""``manage.py hankoflow_send_test_email ADDRESS``: prove that hankoflow's emails go out.

The email (kind ``test``, a short note in the language asked for) takes the path every email
takes: a row in the outbox, ``EMAIL_DELIVERY.MODE`` hands it on after the commit, and
``services/mail/delivery.py`` sends it through the adapter's ``send_mail`` (by default the
project's ``EMAIL_BACKEND``). The command then sends it itself if nobody has yet, waits for a
worker that holds it, and reports sent or failed with the error. Exits non-zero unless sent.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import router, transaction

from hankoflow import emails
from hankoflow.management.commands.hankoflow_send_outbox import _sender
from hankoflow.models import OutboxEmail
from hankoflow.services import mail

POLL_INTERVAL = 0.5


class Command(BaseCommand):
    help = "Send a test email through hankoflow's outbox and report whether it was sent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("address", help="where to send it")
        parser.add_argument(
            "--language",
            default=emails.DEFAULT_LANGUAGE,
            help="X-Language value or language code of the email "
            f"({', '.join(emails.LANGUAGES)}; default {emails.DEFAULT_LANGUAGE})",
        )
        parser.add_argument(
            "--wait",
            type=int,
            default=30,
            metavar="SECONDS",
            help="how long to wait for a Celery worker that is sending it (default 30)",
        )

    def handle(self, *args: Any, address: str, language: str, wait: int, **options: Any) -> None:
        address = address.strip()
        try:
            validate_email(address)
        except ValidationError as exc:
            raise CommandError(f"{address!r} is not an email address") from exc
        if wait < 0:
            raise CommandError("--wait must not be negative")
        code = emails.language_for(language)
        with transaction.atomic(using=router.db_for_write(OutboxEmail)):
            row = mail.queue(emails.TEST, to=address, language=code, context={})
        # The commit handed it on (Celery, or sent right here); send it now if nobody has.
        delivery = mail.deliver(str(row.pk))
        row.refresh_from_db()
        deadline = time.monotonic() + wait
        while delivery.outcome == "skipped" and row.status == OutboxEmail.Status.PENDING:
            if row.next_attempt_at is not None or time.monotonic() >= deadline:
                break
            time.sleep(POLL_INTERVAL)  # a worker holds the row
            row.refresh_from_db()
        self._report(row, code)

    def _report(self, row: OutboxEmail, language: str) -> None:
        where = f"to {row.to} ({language}, outbox row {row.pk}) through {_sender()}"
        if row.status == OutboxEmail.Status.SENT and not row.last_error:
            self.stdout.write(f"sent {where}")
            return
        if row.status == OutboxEmail.Status.SENT:
            raise CommandError(f"not sent {where}: {row.last_error}")
        if row.status == OutboxEmail.Status.FAILED:
            raise CommandError(f"failed {where}: {row.last_error}")
        if row.next_attempt_at is not None:
            raise CommandError(
                f"not sent yet {where}: {row.last_error}; retried from "
                f"{row.next_attempt_at.isoformat()} by the outbox sweeper"
            )
        raise CommandError(
            f"still pending {where}: no worker sent it in time; is one running? "
            "(`manage.py hankoflow_send_outbox --older-than 0` sends it from here)"
        )
