"""Emails through an outbox and Celery (platform.md §7, security-checks.md RE-03…RE-05, PC-09).

``queue()`` writes an ``OutboxEmail`` row in the caller's transaction and, once that commits,
asks Celery to send it (``hankoflow.tasks.send_outbox_email``). The publish is bounded and its
failure only logged: the row stays ``pending`` and the sweeper (``send_pending_outbox`` on a beat
schedule, or ``manage.py hankoflow_send_outbox``) sends it later. A rolled-back step leaves no
row and sends nothing. ``deliver()`` sends one row under a row lock, so a row is sent once even
when the task, a retry and the sweeper meet; the one window left is a crash between the SMTP
server accepting the message and our commit, which sends it again (at least once).

Templates (``hankoflow/email/<kind>_subject.txt``, ``<kind>.txt``, ``<kind>.html``, sharing
``hankoflow/email/base.html``) are rendered with Django's template engine in the language of the
row. A host project changes the wording or layout by putting templates with the same names in a
directory listed earlier in ``TEMPLATES[...]["DIRS"]`` (app templates come after ``DIRS``), and
changes a translation by putting its own catalogue in ``LOCALE_PATHS``. The sender is
``EMAIL_DELIVERY.FROM_NAME <EMAIL_DELIVERY.FROM_ADDRESS>``, the transport Django's
``EMAIL_BACKEND`` (``EMAIL_URL`` in the demo).
"""

from __future__ import annotations

import functools
import json
import logging
import smtplib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr
from typing import Any, Literal

from cryptography.fernet import InvalidToken
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, router, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import translation

from hankoflow import clock
from hankoflow.conf import settings
from hankoflow.models.outbox import OutboxEmail
from hankoflow.models.passcodes import Passcode
from hankoflow.services import crypto, passcodes

logger = logging.getLogger(__name__)

# Kinds (= template names, = Hanko's webhook ``type``), platform.md §7.1.
LOGIN = "login"
EMAIL_VERIFICATION = "email_verification"
RECOVERY = "recovery"
EMAIL_LOGIN_ATTEMPTED = "email_login_attempted"
EMAIL_REGISTRATION_ATTEMPTED = "email_registration_attempted"
PASSWORD_UPDATE = "password_update"  # noqa: S105  (a template name)
CODE_KINDS = frozenset({LOGIN, EMAIL_VERIFICATION, RECOVERY})
# Sent instead of a code when the account does not exist (or already does, at sign-up).
NOTICE_KINDS = frozenset({EMAIL_LOGIN_ATTEMPTED, EMAIL_REGISTRATION_ATTEMPTED})
KINDS = CODE_KINDS | NOTICE_KINDS | {PASSWORD_UPDATE}

# X-Language values Hanko has templates for (platform.md §7.3) -> Django language codes.
LANGUAGES = {
    "bn": "bn",
    "de": "de",
    "en": "en",
    "fr": "fr",
    "it": "it",
    "nl": "nl",
    "pl": "pl",
    "pt-BR": "pt-br",
    "zh-CN": "zh-hans",
}
DEFAULT_LANGUAGE = "en"
_BY_PRIMARY_SUBTAG = {code.split("-")[0].lower(): django for code, django in LANGUAGES.items()}
_TRADITIONAL_CHINESE = {"hant", "tw", "hk", "mo"}

# Delivery: the first try plus 5 retries, waiting 10, 20, 40, 80, 160 s (about a passcode's life).
MAX_ATTEMPTS = 6
RETRY_BASE_DELAY = 10
RETRY_MAX_DELAY = 600
# The sweeper leaves fresh rows to the task that their commit enqueued.
SWEEP_AFTER = 30
SWEEP_BATCH = 500
# Publishing to the broker: one quick retry, then give up (CELERY_BROKER_CONNECTION_TIMEOUT
# bounds each connection attempt); the sweeper is the fallback.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2,
                        "interval_max": 0.2}  # fmt: skip
SEND_TASK = "hankoflow.send_outbox_email"  # the Celery task's name (hankoflow/tasks.py)
# Django's SMTP backend waits forever without EMAIL_TIMEOUT; a hung server must not hold the
# worker (and the row lock) for ever.
SMTP_TIMEOUT = 30
# services/crypto.py purpose (HKDF info "hankoflow outbox secret v1").
_CRYPTO_PURPOSE = "outbox secret"

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


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def language_for(x_language: str) -> str:
    """The Django language code of the email templates that best fit an ``X-Language`` value.

    Accepts a tag (``de-AT``, ``pt_BR``, ``zh-Hans``, also our own ``pt-br``) or an
    Accept-Language list (``fr-CH, fr;q=0.9, en;q=0.8``). Empty, ``undefined`` or unknown -> ``en``.

    Hanko: matches with Go's BCP-47 matcher; we match the primary subtag, take ``pt`` as
    ``pt-BR`` and plain/Simplified Chinese as ``zh-CN``, and give Traditional Chinese
    (``zh-TW``, ``zh-Hant``, ...) English, as that matcher does for a script mismatch.
    """
    for tag in _ranked_tags(x_language or ""):
        parts = tag.replace("_", "-").lower().split("-")
        if parts[0] == "zh" and _TRADITIONAL_CHINESE.intersection(parts[1:]):
            continue
        if parts[0] in _BY_PRIMARY_SUBTAG:
            return _BY_PRIMARY_SUBTAG[parts[0]]
    return DEFAULT_LANGUAGE


def _ranked_tags(value: str) -> list[str]:
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(value.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


def queue(
    kind: str,
    *,
    to: str,
    language: str,
    context: dict[str, Any],
    secret: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> OutboxEmail:
    """Write an email to the outbox in the caller's transaction; it is sent after the commit.

    ``language`` is an ``X-Language`` value or one of our language codes (see
    ``language_for``). ``context`` is stored in the clear: never put a code in it; code kinds
    take ``secret={"code": ...}``, which is stored encrypted (notices store an encrypted empty
    one). ``service_name`` and, for code kinds, ``ttl_minutes`` default to the configured values.
    With ``dedupe_key`` a second call returns the first row and sends nothing new.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown email kind {kind!r}")
    if kind in CODE_KINDS and not (secret and secret.get("code")):
        raise ValueError(f"a {kind!r} email needs secret={{'code': ...}}")
    if kind not in CODE_KINDS and secret:
        raise ValueError(f"a {kind!r} email carries no secret")
    if "code" in context:
        raise ValueError("the code goes in `secret`, never in the stored context")
    values = {"service_name": settings.SERVICE.NAME, **context}
    if kind in CODE_KINDS:
        values.setdefault("ttl_minutes", ttl_minutes(settings.EMAIL.PASSCODE_TTL))
    fields = {
        "kind": kind,
        "to": to,
        "language": language_for(language),
        "context": values,
        "secret": _encrypt(secret) if secret else _padding(kind),
        "dedupe_key": dedupe_key,
    }
    alias = router.db_for_write(OutboxEmail)
    if dedupe_key is None:
        row = OutboxEmail.objects.using(alias).create(**fields)
    else:
        existing = OutboxEmail.objects.using(alias).filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
        try:
            with transaction.atomic(using=alias):  # a savepoint: a lost race must not abort ours
                row = OutboxEmail.objects.using(alias).create(**fields)
        except IntegrityError:
            return OutboxEmail.objects.using(alias).get(dedupe_key=dedupe_key)
    transaction.on_commit(functools.partial(_publish, str(row.pk)), using=alias)
    return row


def passcode_dedupe_key(passcode_id: str) -> str:
    """The dedupe key of a passcode's email: one email per passcode, and the link to it."""
    return f"{PASSCODE_KEY_PREFIX}{passcode_id}"


def ttl_minutes(seconds: int) -> int:
    """A passcode lifetime in whole minutes as the emails state it (rounded half up, at least 1)."""
    return max(1, int(seconds / 60 + 0.5))


def _publish(outbox_id: str) -> None:
    # Looked up by name in Celery's registry (the app registers hankoflow/tasks.py when Django
    # starts), so this service does not import the task module that imports it.
    from celery import current_app

    try:
        task = current_app.tasks[SEND_TASK]
        task.apply_async((outbox_id,), retry=True, retry_policy=PUBLISH_RETRY_POLICY)
    except Exception:  # broker down, or (eager) anything the send raised: the sweeper retries
        logger.warning(
            "Could not hand outbox email %s to Celery; the sweeper will send it.",
            outbox_id,
            exc_info=True,
        )


def deliver(outbox_id: str) -> Delivery:
    """Send one pending row now, unless another process holds it or its retry is not due.

    Success marks it ``sent`` and wipes the secret. A transient failure counts an attempt and
    sets ``next_attempt_at`` (``Delivery("retry", seconds)``); a permanent one (a 5xx answer,
    a secret that no longer decrypts, a template that does not render) or the last attempt marks
    it ``failed``. With ``EMAIL_DELIVERY.ENABLED`` off nothing is sent and the row is closed
    as ``sent`` with a note (Hanko leaves delivery to the integrator then). The email of a passcode
    that died before it went out (replaced by a resend, expired, used up) is closed unsent as
    ``failed``, with the reason in ``last_error`` (``Delivery("stale")``).
    """
    alias = router.db_for_write(OutboxEmail)
    with transaction.atomic(using=alias):
        row = (
            OutboxEmail.objects.using(alias)
            .select_for_update(skip_locked=True)
            .filter(pk=outbox_id, status=OutboxEmail.Status.PENDING)
            .first()
        )
        now = clock.now()
        if row is None or (
            row.next_attempt_at and row.next_attempt_at > now + timedelta(seconds=1)
        ):
            return Delivery("skipped")
        if not settings.EMAIL_DELIVERY.ENABLED:
            note = "not sent: EMAIL_DELIVERY.ENABLED is off"
            _close(row, OutboxEmail.Status.SENT, now, note=note, attempted=False)
            return Delivery("disabled")
        dead = _dead_passcode(row)
        if dead:
            note = f"not sent: {dead}"
            _close(row, OutboxEmail.Status.FAILED, now, note=note, attempted=False)
            return Delivery("stale")
        try:
            message = build_message(row)
        except Exception as exc:
            logger.exception("Outbox email %s cannot be built; marking it failed.", row.pk)
            _close(row, OutboxEmail.Status.FAILED, now, note=_describe(exc), attempted=False)
            return Delivery("failed")
        try:
            message.send()
        except Exception as exc:
            return _failed_attempt(row, exc, now)
        _close(row, OutboxEmail.Status.SENT, now)
        return Delivery("sent")


def _dead_passcode(row: OutboxEmail) -> str | None:
    """Why the passcode of this email must not go out any more; None while it still works (and
    for emails of no passcode).

    Hanko sends at once, so its emails cannot outlive their code; ours can wait for a broker or
    a retry. A dead code in the inbox only misleads, and after a resend it would arrive next to
    the one that works (security-checks PC-07: only the newest code counts).
    """
    key = row.dedupe_key or ""
    if not key.startswith(PASSCODE_KEY_PREFIX):
        return None
    passcode_id = key.removeprefix(PASSCODE_KEY_PREFIX)
    if passcodes.is_usable(passcode_id, row.to):
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
    row.save(
        update_fields=["status", "secret", "last_error", "next_attempt_at", "attempts", "sent_at"]
    )


def _is_permanent(exc: Exception) -> bool:
    """A 5xx answer will not change by retrying (except a login failure: fix the config)."""
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


def build_message(row: OutboxEmail) -> EmailMultiAlternatives:
    """The email of an outbox row, rendered in its language (decrypts the secret)."""
    values = dict(row.context)
    if row.secret:
        values.update(_decrypt(row.secret))
    rendered = render(row.kind, language=row.language, context=values)
    delivery = settings.EMAIL_DELIVERY
    connection = get_connection()
    if getattr(connection, "timeout", False) is None:
        connection.timeout = SMTP_TIMEOUT
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=formataddr((delivery.FROM_NAME, delivery.FROM_ADDRESS)),
        to=[row.to],
        headers={"Auto-Submitted": "auto-generated", "Content-Language": row.language},
        connection=connection,
    )
    message.attach_alternative(rendered.html, "text/html")
    return message


def render(kind: str, *, language: str, context: dict[str, Any]) -> RenderedEmail:
    """Render the subject, text and HTML of ``kind`` in ``language`` (a Django language code)."""
    if kind not in KINDS:
        raise ValueError(f"unknown email kind {kind!r}")
    values = {"service_name": settings.SERVICE.NAME, **context, "language": language}
    with translation.override(language):
        # One line, whatever the template holds: a header cannot take a line break.
        subject = " ".join(render_to_string(f"hankoflow/email/{kind}_subject.txt", values).split())
        values["subject"] = subject
        text = render_to_string(f"hankoflow/email/{kind}.txt", values).strip() + "\n"
        html = render_to_string(f"hankoflow/email/{kind}.html", values)
    return RenderedEmail(subject=subject, text=text, html=html)


def _padding(kind: str) -> str | None:
    """A notice stands in for a code email: it costs the same encryption (and decryption when
    sent), of nothing, so the two cannot be told apart by time (security-checks PC-08)."""
    return _encrypt({}) if kind in NOTICE_KINDS else None


def _encrypt(secret: dict[str, Any]) -> str:
    return crypto.encrypt(json.dumps(secret), _CRYPTO_PURPOSE)


def _decrypt(token: str) -> dict[str, Any]:
    try:
        return json.loads(crypto.decrypt(token, _CRYPTO_PURPOSE))
    except InvalidToken:
        raise ValueError("the outbox secret does not decrypt (SECRET_KEY changed?)") from None
