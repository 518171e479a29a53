"""The outbox: written with the step, sent after the commit, swept when the broker was down
(platform.md §7, security-checks.md RE-03…RE-05, PC-01)."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from io import StringIO

import pytest
from celery.exceptions import Retry
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from hankoflow import clock, emails
from hankoflow.models import OutboxEmail
from hankoflow.services import mail
from hankoflow.services.mail import outbox
from hankoflow.tasks import send_outbox_email, send_pending_outbox
from project.celery import app as celery_app
from tests.celery_worker import celery_publishing_to
from tests.concurrency import run_concurrently

TO = "jane@example.com"


def queue_login(code: str = "123456", **kwargs) -> OutboxEmail:
    return mail.queue(
        "login",
        to=kwargs.pop("to", TO),
        language=kwargs.pop("language", "de"),
        context=kwargs.pop("context", {}),
        secret={"code": code},
        **kwargs,
    )


def message_of(row: OutboxEmail):
    """The message the default send_mail builds for a row."""
    return emails.build_message(row.kind, to=row.to, context=mail.mail_context(row))


def make_pending(age: int = 60, **kwargs) -> OutboxEmail:
    """A committed row whose publish got lost (no task was run for it)."""
    with celery_publishing_to("memory://"), transaction.atomic():
        row = queue_login(**kwargs)
    OutboxEmail.objects.filter(pk=row.pk).update(created_at=clock.now() - timedelta(seconds=age))
    row.refresh_from_db()
    assert row.status == OutboxEmail.Status.PENDING
    return row


# -- queue(): the row and the transaction (RE-05) --------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_rollback_leaves_no_row_and_sends_nothing(mailoutbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        queue_login()
        raise RuntimeError("the flow step failed after queueing")

    assert OutboxEmail.objects.count() == 0
    assert mailoutbox == []


@pytest.mark.django_db(transaction=True)
def test_email_is_sent_after_the_commit_of_the_callers_transaction(mailoutbox):
    with transaction.atomic():
        row = queue_login("654321")
        assert OutboxEmail.objects.filter(pk=row.pk).exists()  # same transaction
        assert mailoutbox == []  # not before the commit

    (message,) = mailoutbox
    assert message.to == [TO]
    assert message.from_email == "Hanko <noreply@hanko.io>"
    assert message.subject == "654321 ist Ihr Anmeldecode für Hanko Authentication Service"
    assert "654321" in message.body
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html" and "654321" in html
    assert message.extra_headers["Content-Language"] == "de"
    row.refresh_from_db()
    assert row.status == OutboxEmail.Status.SENT
    assert row.sent_at is not None and row.attempts == 1
    assert row.secret is None, "the code is wiped once sent"


@pytest.mark.django_db
def test_the_code_is_stored_encrypted_only():
    row = queue_login("987123")

    stored = OutboxEmail.objects.values().get(pk=row.pk)
    assert "987123" not in repr(stored)
    assert row.context == {"service_name": "Hanko Authentication Service", "ttl_minutes": 5}
    assert row.language == "de"
    assert message_of(row).subject.startswith("987123 ")


@pytest.mark.django_db
def test_secret_survives_a_secret_key_rotation_through_the_fallbacks(settings):
    row = queue_login("555111")
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-brand-new-secret-key-" + "x" * 40
    settings.SECRET_KEY_FALLBACKS = [old_key]

    assert "555111" in message_of(row).body


@pytest.mark.django_db
def test_secret_that_no_longer_decrypts_fails_the_row(settings, mailoutbox, caplog):
    row = queue_login()
    settings.SECRET_KEY = "a-brand-new-secret-key-" + "x" * 40

    assert mail.deliver(str(row.pk)).outcome == "failed"
    row.refresh_from_db()
    assert row.status == OutboxEmail.Status.FAILED and row.secret is None
    assert "does not decrypt" in row.last_error
    assert mailoutbox == []


@pytest.mark.django_db
def test_dedupe_key_makes_a_second_queue_a_no_op(django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = queue_login(dedupe_key="test:1")
        second = queue_login(dedupe_key="test:1")

    assert first.pk == second.pk
    assert len(callbacks) == 1
    assert len(mailoutbox) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "secret", "context", "message"),
    [
        ("newsletter", None, {}, "unknown email kind"),
        ("login", None, {}, "needs secret"),
        ("recovery", {"code": ""}, {}, "needs secret"),
        ("email_login_attempted", {"code": "123456"}, {}, "carries no secret"),
        ("email_verification", {"code": "123456"}, {"code": "123456"}, "never in the stored"),
    ],
)
def test_queue_refuses_misuse(kind, secret, context, message):
    with pytest.raises(ValueError, match=message):
        mail.queue(kind, to=TO, language="en", context=context, secret=secret)
    assert OutboxEmail.objects.count() == 0


@pytest.mark.django_db
def test_notices_carry_no_code(django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True):
        row = mail.queue("email_registration_attempted", to=TO, language="fr-CA", context={})

    assert row.language == "fr"
    row.refresh_from_db()
    assert row.secret is None, "the padding that stands in for a code is wiped too"
    (message,) = mailoutbox
    assert message.subject == "Cette adresse e-mail est déjà enregistrée"


def test_ttl_minutes_rounds_half_up_and_never_says_zero():
    assert [mail.ttl_minutes(s) for s in (300, 89, 90, 150, 20, 3600)] == [5, 1, 2, 3, 1, 60]


@pytest.mark.django_db
@override_settings(HANKOFLOW={"EMAIL_DELIVERY": {"ENABLED": False}})
def test_delivery_disabled_sends_nothing_and_closes_the_row(
    django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        row = queue_login()

    assert mailoutbox == []
    row.refresh_from_db()
    assert row.status == OutboxEmail.Status.SENT and row.secret is None
    assert "EMAIL_DELIVERY.ENABLED is off" in row.last_error


@pytest.mark.django_db
@override_settings(
    HANKOFLOW={"EMAIL_DELIVERY": {"FROM_NAME": "Shop, Inc.", "FROM_ADDRESS": "a@b.c"}}
)
def test_sender_comes_from_email_delivery_and_is_quoted():
    row = queue_login()

    assert message_of(row).from_email == '"Shop, Inc." <a@b.c>'


# -- a broker that is down (RE-03) ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", ["refused", "hung"])
def test_broker_down_leaves_the_row_pending_and_returns_quickly(
    broker, closed_port, hung_port, mailoutbox, caplog
):
    port = closed_port if broker == "refused" else hung_port
    started = time.monotonic()
    with (
        caplog.at_level(logging.WARNING, logger="hankoflow.services.mail"),
        celery_publishing_to(f"redis://127.0.0.1:{port}/0"),
        transaction.atomic(),
    ):
        row = queue_login()
    elapsed = time.monotonic() - started

    assert elapsed < 5, f"the step waited {elapsed:.1f} s for the broker"
    row.refresh_from_db()
    assert row.status == OutboxEmail.Status.PENDING and row.attempts == 0
    assert mailoutbox == []
    assert "the sweeper will send it" in caplog.text
    assert "123456" not in caplog.text


# -- the sweeper ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_sweeper_sends_a_pending_email_exactly_once(mailoutbox):
    make_pending()

    first, second = mail.sweep(), mail.sweep()

    assert (first.sent, second.sent) == (1, 0)
    assert len(mailoutbox) == 1
    assert "123456" in mailoutbox[0].body


@pytest.mark.django_db
def test_sweeper_leaves_fresh_rows_and_rows_waiting_for_their_retry(mailoutbox):
    make_pending(age=5)  # its own task is about to send it
    waiting = make_pending(age=120)
    OutboxEmail.objects.filter(pk=waiting.pk).update(
        next_attempt_at=clock.now() + timedelta(seconds=30)
    )

    assert mail.sweep() == mail.SweepResult()
    assert mailoutbox == []
    assert mail.sweep(older_than=0).sent == 1  # the fresh one, on request


@pytest.mark.django_db
def test_sweeper_task_and_management_command(mailoutbox):
    make_pending(code="111111")
    assert send_pending_outbox() == {
        "sent": 1,
        "disabled": 0,
        "retry": 0,
        "failed": 0,
        "skipped": 0,
        "stale": 0,
    }
    make_pending(code="222222")
    out = StringIO()

    call_command("hankoflow_send_outbox", stdout=out)

    assert out.getvalue().startswith("sent 1,")
    assert [m.subject[:6] for m in mailoutbox] == ["111111", "222222"]


def test_beat_runs_the_sweeper_every_minute():
    entry = django_settings.CELERY_BEAT_SCHEDULE["hankoflow-send-pending-outbox"]

    assert entry["task"] == send_pending_outbox.name
    assert entry["task"] in celery_app.tasks
    assert entry["schedule"] == 60.0


# -- failures and retries (RE-04), against a real SMTP server ---------------------------------


@pytest.mark.django_db
def test_transient_smtp_failure_is_retried_with_backoff(smtp_sink, settings):
    for name, value in smtp_sink.settings().items():
        setattr(settings, name, value)
    row = make_pending()
    smtp_sink.fail_next(1)  # 451

    delivery = mail.deliver(str(row.pk))

    assert delivery == mail.Delivery("retry", retry_in=mail.RETRY_BASE_DELAY)
    row.refresh_from_db()
    assert row.status == OutboxEmail.Status.PENDING and row.attempts == 1
    assert "451" in row.last_error and row.secret is not None
    assert mail.deliver(str(row.pk)).outcome == "skipped", "not before its retry is due"
    OutboxEmail.objects.filter(pk=row.pk).update(next_attempt_at=clock.now())

    assert mail.sweep().sent == 1
    received = smtp_sink.wait_for(TO, timeout=5)
    assert received.code == "123456"
    assert received.message["From"] == "Hanko <noreply@hanko.io>"
    assert received.message.get_content_type() == "multipart/alternative"
    assert "123456" in received.html
    row.refresh_from_db()
    assert row.status == OutboxEmail.Status.SENT and row.attempts == 2 and row.secret is None


@pytest.mark.django_db
def test_permanent_smtp_failure_fails_the_row_at_once(smtp_sink, settings):
    for name, value in smtp_sink.settings().items():
        setattr(settings, name, value)
    row = make_pending()
    smtp_sink.fail_next(1, "550 5.1.1 No such user")

    assert mail.deliver(str(row.pk)).outcome == "failed"
    row.refresh_from_db()
    assert row.status == OutboxEmail.Status.FAILED and row.attempts == 1
    assert "550" in row.last_error and row.secret is None
    assert smtp_sink.messages == []


@pytest.mark.django_db
def test_gives_up_after_the_last_attempt(monkeypatch):
    row = make_pending()

    def refuse(self, *args, **kwargs):
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    delays = []
    for _ in range(mail.MAX_ATTEMPTS):
        OutboxEmail.objects.filter(pk=row.pk).update(next_attempt_at=None)
        delivery = mail.deliver(str(row.pk))
        delays.append(delivery.retry_in)

    assert delays == [10, 20, 40, 80, 160, None]
    assert delivery.outcome == "failed"
    row.refresh_from_db()
    assert row.status == OutboxEmail.Status.FAILED and row.attempts == mail.MAX_ATTEMPTS


@pytest.mark.django_db
def test_task_asks_celery_to_retry_after_a_transient_failure(monkeypatch):
    row = make_pending()
    monkeypatch.setattr(
        "django.core.mail.EmailMultiAlternatives.send",
        lambda self, *a, **kw: (_ for _ in ()).throw(TimeoutError("slow SMTP")),
    )
    asked = []

    def retry(**options):
        asked.append(options)
        return Retry("retry", when=options.get("countdown"))

    monkeypatch.setattr(send_outbox_email, "retry", retry)

    with pytest.raises(Retry):
        send_outbox_email(str(row.pk))  # called as a worker runs it (not eagerly)

    assert asked == [{"countdown": mail.RETRY_BASE_DELAY}]


@pytest.mark.django_db
def test_eager_runs_leave_the_retry_to_the_sweeper(monkeypatch):
    row = make_pending()
    monkeypatch.setattr(
        "django.core.mail.EmailMultiAlternatives.send",
        lambda self, *a, **kw: (_ for _ in ()).throw(TimeoutError("slow SMTP")),
    )

    assert send_outbox_email.apply((str(row.pk),)).get() == "retry"
    row.refresh_from_db()
    assert row.status == OutboxEmail.Status.PENDING and row.attempts == 1


@pytest.mark.django_db
def test_task_skips_rows_already_sent(mailoutbox):
    row = make_pending()

    assert send_outbox_email(str(row.pk)) == "sent"
    assert send_outbox_email(str(row.pk)) == "skipped"
    assert send_outbox_email("00000000-0000-0000-0000-000000000000") == "skipped"
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_a_deduped_queue_is_one_insert_without_a_savepoint(django_capture_on_commit_callbacks):
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        row = queue_login(dedupe_key="test:one-statement")
    sql = [query["sql"] for query in captured.captured_queries]
    assert [s.split(None, 1)[0] for s in sql if "hankoflow_outbox_email" in s] == ["INSERT"]
    assert sum(s.startswith("SAVEPOINT") for s in sql) == 1  # the test's own block only
    assert OutboxEmail.objects.get(dedupe_key="test:one-statement").pk == row.pk


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("postgres_only")
def test_the_same_dedupe_key_queued_at_once_makes_one_row_and_one_send(monkeypatch):
    handed_on = []
    monkeypatch.setattr(outbox.dispatch, "send_after_commit", handed_on.append)
    rows = run_concurrently([lambda: queue_login(dedupe_key="test:race")] * 8)
    assert len({row.pk for row in rows}) == 1
    assert OutboxEmail.objects.filter(dedupe_key="test:race").count() == 1
    assert handed_on == [str(rows[0].pk)]
