"""Sending one outbox row, and the sweeper that sends what is still pending (platform.md §7,
security-checks.md RE-03, RE-04, PC-07).

``deliver()`` sends one row under a row lock, so a row is sent once even when the task, a
retry, an in-process send and the sweeper meet; the one window left is a crash between the mail
server accepting the message and our commit, which sends it again (at least once, with the same
``Message-ID``: ``message_id()``). The message
goes out through the adapter's ``send_mail`` (by default: hankoflow's templates through Django's
``EMAIL_BACKEND``). A transient failure leaves the row pending with a backoff; ``sweep()`` (the
``hankoflow.send_pending_outbox`` beat task, ``manage.py hankoflow_send_outbox``) sends it when
its retry is due.
"""

from __future__ import annotations

import logging
import smtplib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.db import router, transaction
from django.db.models import Q, Subquery
from django.template import TemplateDoesNotExist, TemplateSyntaxError

from hankoflow import clock
from hankoflow.adapter import get_adapter
from hankoflow.conf import settings
from hankoflow.emails import UndeliverableEmail
from hankoflow.models.outbox import OutboxEmail
from hankoflow.models.passcodes import Passcode
from hankoflow.services import metrics, outbox_rows, passcodes, rows
from hankoflow.services.mail import encryption

logger = logging.getLogger(__name__)

# The first try plus 5 retries, waiting 10, 20, 40, 80, 160 s (about a passcode's life).
MAX_ATTEMPTS = 6
RETRY_BASE_DELAY = 10
RETRY_MAX_DELAY = 600
# The sweeper leaves fresh rows to the send that their commit started.
SWEEP_AFTER = 30
SWEEP_BATCH = 500

# A passcode email's dedupe key: ``passcode:<passcode id>``; it links the row to its passcode.
PASSCODE_KEY_PREFIX = "passcode:"

Outcome = Literal["sent", "disabled", "retry", "failed", "skipped", "stale"]


@dataclass(frozen=True)
class Delivery:
    """What ``deliver()`` did with one row; ``retry_in`` (seconds) only for ``"retry"``.

    ``skipped``: not ours to send now (another process holds it, or its retry is not due);
    ``stale``: closed unsent because its passcode died first.
    """

    outcome: Outcome
    retry_in: int | None = None


@dataclass(frozen=True)
class SweepResult:
    sent: int = 0
    disabled: int = 0
    retry: int = 0
    failed: int = 0
    skipped: int = 0
    stale: int = 0


def passcode_dedupe_key(passcode_id: str) -> str:
    """The dedupe key of a passcode's email: one email per passcode, and the link to it."""
    return f"{PASSCODE_KEY_PREFIX}{passcode_id}"


def passcode_of(dedupe_key: str | None) -> str | None:
    """The passcode id a dedupe key names (``passcode_dedupe_key``), or None."""
    key = dedupe_key or ""
    return key.removeprefix(PASSCODE_KEY_PREFIX) if key.startswith(PASSCODE_KEY_PREFIX) else None


def deliver(outbox_id: str, *, passcode_id: str | None = None) -> Delivery:
    """Send one pending row now (``_deliver``) and count what came of it in the metrics.

    ``passcode_id``: the passcode the row's email carries, when the caller knows it (the send
    right after the commit): the row is then claimed and its passcode checked in one statement.
    """
    delivery = _deliver(outbox_id, passcode_id)
    metrics.record_email(delivery.outcome)
    return delivery


def _deliver(outbox_id: str, passcode_id: str | None = None) -> Delivery:
    """Send one pending row now, unless another process holds it or its retry is not due.

    Success marks it ``sent`` and wipes the secret. A transient failure counts an attempt and
    sets ``next_attempt_at`` (``Delivery("retry", seconds)``); a permanent one (a 5xx answer,
    ``UndeliverableEmail``, a secret that no longer decrypts, a template that does not render)
    or the last attempt marks it ``failed``. With ``EMAIL_DELIVERY.ENABLED`` off nothing is sent
    and the row is closed as ``sent`` with a note (Hanko leaves delivery to the integrator then).
    The email of a passcode that died before it went out (replaced by a resend, expired, used
    up) is closed unsent as ``failed``, with the reason in ``last_error`` (``Delivery("stale")``).
    """
    alias = router.db_for_write(OutboxEmail)
    with transaction.atomic(using=alias):
        now = clock.now()
        # The passcode's address while it works, read with the claim (NULL once it is dead).
        known = {"passcode_email": _usable_email(passcode_id, now)} if passcode_id else None
        row = outbox_rows.claim_due(
            OutboxEmail,
            outbox_id,
            alias=alias,
            pending=OutboxEmail.Status.PENDING,
            now=now,
            annotate=known,
        )
        if row is None:
            return Delivery("skipped")
        if not settings.EMAIL_DELIVERY.ENABLED:
            note = "not sent: EMAIL_DELIVERY.ENABLED is off"
            _close(row, OutboxEmail.Status.SENT, now, note=note, attempted=False)
            return Delivery("disabled")
        key = passcode_dedupe_key(passcode_id) if passcode_id else None  # an id, not a secret
        checked = known is not None and row.dedupe_key == key
        dead = _dead_passcode(row, checked=checked)
        if dead:
            note = f"not sent: {dead}"
            _close(row, OutboxEmail.Status.FAILED, now, note=note, attempted=False)
            return Delivery("stale")
        try:
            context = mail_context(row)
        except ValueError as exc:
            logger.error("Outbox email %s cannot be built; marking it failed: %s", row.pk, exc)
            _close(row, OutboxEmail.Status.FAILED, now, note=_describe(exc), attempted=False)
            return Delivery("failed")
        try:
            get_adapter().send_mail(row.kind, row.to, context)
        except Exception as exc:
            return _failed_attempt(row, exc, now)
        _close(row, OutboxEmail.Status.SENT, now)
        return Delivery("sent")


def mail_context(row: OutboxEmail) -> dict[str, Any]:
    """What ``send_mail`` gets as ``context``: the stored context, the decrypted secret (the
    code), the row's ``language`` and ``message_id``."""
    values = dict(row.context)
    if row.secret:
        values.update(encryption.decrypt(row.secret))
    values["language"] = row.language
    values["message_id"] = message_id(row)
    return values


def message_id(row: OutboxEmail) -> str:
    """The row's ``Message-ID``: a copy sent again after a crash (at least once) carries the
    same one, so a mail system or reader can tell it from a new email."""
    domain = settings.EMAIL_DELIVERY.FROM_ADDRESS.rpartition("@")[2] or "localhost"
    return f"<{row.pk}@{domain}>"


def sweep(*, older_than: int = SWEEP_AFTER, limit: int = SWEEP_BATCH) -> SweepResult:
    """Send the pending rows older than ``older_than`` seconds whose retry is due, oldest first."""
    now = clock.now()
    due = (
        OutboxEmail.objects.filter(
            status=OutboxEmail.Status.PENDING,
            created_at__lte=now - timedelta(seconds=older_than),
        )
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    outcomes = Counter(deliver(str(pk)).outcome for pk in list(due))
    return SweepResult(**outcomes)


def _usable_email(passcode_id: str, now: datetime) -> outbox_rows.Read:
    """The passcode's address while it is usable at ``now`` (``passcodes.usable``), else NULL,
    read with the claim."""
    key = passcodes.passcode_key(passcode_id)
    return outbox_rows.Read(_usable_address, _USABLE_FIELDS, (key, now))


def _usable_address(passcode_id: Any, now: datetime) -> Subquery:
    usable = passcodes.usable(str(passcode_id), now=now)
    return Subquery(usable.order_by().values("email")[:1])


_USABLE_FIELDS = (Passcode._meta.pk, Passcode._meta.get_field("expires_at"))


def _dead_passcode(row: OutboxEmail, *, checked: bool = False) -> str | None:
    """Why the passcode of this email must not go out any more; None while it still works (and
    for emails of no passcode). ``checked``: ``claim_due`` read the row's passcode's address as
    ``row.passcode_email`` (NULL once the passcode is dead).

    Hanko sends at once, so its emails cannot outlive their code; ours can wait for a broker or
    a retry. A dead code in the inbox only misleads, and after a resend it would arrive next to
    the one that works (security-checks PC-07: only the newest code counts).
    """
    passcode_id = passcode_of(row.dedupe_key)
    if passcode_id is None:
        return None
    if checked:
        address = getattr(row, "passcode_email", None)
        if address is not None and address == passcodes.normalize_email(row.to):
            return None
    elif passcodes.is_usable(passcode_id, row.to):
        return None
    passcode = Passcode.objects.filter(pk=passcode_id).only("flow_id", "created_at").first()
    if (
        passcode is not None
        and passcode.flow_id is not None
        and Passcode.objects.filter(
            flow_id=passcode.flow_id, created_at__gt=passcode.created_at
        ).exists()
    ):
        return "a newer passcode replaced this one"
    return "the passcode expired or was used up before it went out"


def _failed_attempt(row: OutboxEmail, exc: Exception, now: datetime) -> Delivery:
    permanent = _is_permanent(exc)
    if permanent or row.attempts + 1 >= MAX_ATTEMPTS:
        logger.error("Outbox email %s failed for good: %s", row.pk, _describe(exc))
        _close(row, OutboxEmail.Status.FAILED, now, note=_describe(exc))
        return Delivery("failed")
    delay = min(RETRY_BASE_DELAY * 2**row.attempts, RETRY_MAX_DELAY)
    logger.warning("Outbox email %s not sent (%s); retry in %s s", row.pk, _describe(exc), delay)
    row.attempts += 1
    row.last_error = _describe(exc)
    row.next_attempt_at = now + timedelta(seconds=delay)
    row.save(update_fields=["attempts", "last_error", "next_attempt_at"])
    return Delivery("retry", retry_in=delay)


def _close(
    row: OutboxEmail, status: str, now: datetime, *, note: str = "", attempted: bool = True
) -> None:
    row.status = status
    row.secret = None  # the code is useless to keep, whatever happened
    row.last_error = note
    row.next_attempt_at = None
    if attempted:
        row.attempts += 1
    if status == OutboxEmail.Status.SENT:
        row.sent_at = now
    # save(update_fields=...)'s UPDATE, written once per database: compiling it cost more than
    # running it (through the ORM when a host listens to the save signals).
    rows.update(row, _CLOSED_FIELDS)


_CLOSED_FIELDS = ("status", "secret", "last_error", "next_attempt_at", "attempts", "sent_at")


def _is_permanent(exc: Exception) -> bool:
    """Retrying will not change it: the sender said so, a template is broken, or a 5xx answer
    (except a login failure: that is fixed in the configuration)."""
    if isinstance(exc, UndeliverableEmail | TemplateDoesNotExist | TemplateSyntaxError):
        return True
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return False
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:1000]
