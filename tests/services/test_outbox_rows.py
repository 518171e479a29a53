"""``outbox_rows.claim_due``: the claim of one pending outbox row, compiled once per database
(issue 16), with the same answers as the ORM's query it replaced."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import router, transaction
from django.db.models.sql.compiler import SQLCompiler, SQLInsertCompiler

from hankoflow import clock as hankoflow_clock
from hankoflow.models import OutboxEmail, Passcode, WebhookDelivery
from hankoflow.services import mail, outbox_rows, passcodes
from hankoflow.services.mail import delivery, dispatch
from tests.concurrency import run_concurrently

pytestmark = pytest.mark.django_db

EMAIL = "jane@example.com"
PENDING = OutboxEmail.Status.PENDING


def queue_passcode() -> tuple[passcodes.IssuedPasscode, OutboxEmail]:
    issued = passcodes.issue(email=EMAIL, flow_id=str(uuid.uuid4()))
    row = mail.queue(
        "login",
        to=EMAIL,
        language="en",
        context={"name": "Jane"},
        secret={"code": issued.code},
        dedupe_key=mail.passcode_dedupe_key(issued.id),
    )
    return issued, row


def claim(row_id, now, **reads) -> OutboxEmail | None:
    alias = router.db_for_write(OutboxEmail)
    with transaction.atomic(using=alias):
        return outbox_rows.claim_due(
            OutboxEmail, str(row_id), alias=alias, pending=PENDING, now=now, annotate=reads
        )


def compiled(monkeypatch, compiler=SQLCompiler) -> list[str]:
    """The SQL the ORM compiles from now on (by ``compiler``'s ``as_sql``)."""
    texts: list[str] = []
    as_sql = compiler.as_sql

    def counting(self, *args, **kwargs):
        result = as_sql(self, *args, **kwargs)
        texts.append(str(result))
        return result

    monkeypatch.setattr(compiler, "as_sql", counting)
    return texts


def test_the_claimed_row_is_the_one_the_orm_loads(clock):
    _, queued = queue_passcode()

    row = claim(queued.pk, clock.now())

    stored = OutboxEmail.objects.get(pk=queued.pk)
    for field in OutboxEmail._meta.concrete_fields:
        assert getattr(row, field.attname) == getattr(stored, field.attname), field.name
    assert row.context == {"name": "Jane", **stored.context}
    assert row.created_at.tzinfo is not None and isinstance(row.pk, uuid.UUID)
    assert (row._state.adding, row._state.db) == (False, router.db_for_write(OutboxEmail))


def test_not_pending_gone_or_not_yet_due_is_none(clock):
    _, sent = queue_passcode()
    OutboxEmail.objects.filter(pk=sent.pk).update(status=OutboxEmail.Status.SENT)
    _, waiting = queue_passcode()
    retry_at = clock.now() + timedelta(seconds=30)
    OutboxEmail.objects.filter(pk=waiting.pk).update(next_attempt_at=retry_at)

    assert claim(sent.pk, clock.now()) is None
    assert claim(uuid.uuid4(), clock.now()) is None
    assert claim(waiting.pk, clock.now()) is None
    almost = retry_at - outbox_rows.DUE_SLACK - timedelta(microseconds=1)
    assert claim(waiting.pk, almost) is None
    # Within the slack it counts as due (a task may run a moment early).
    assert claim(waiting.pk, retry_at - outbox_rows.DUE_SLACK).pk == waiting.pk


@pytest.mark.parametrize("state", ["live", "used", "exhausted", "expired", "expires_now", "gone"])
def test_the_passcode_read_with_the_claim_is_usable_exactly_when_is_usable_says(state, clock):
    issued, row = queue_passcode()
    changes = {
        "live": {"tries": passcodes.MAX_TRIES - 1},
        "used": {"used_at": clock.now()},
        "exhausted": {"tries": passcodes.MAX_TRIES},
        "expired": {"expires_at": clock.now() - timedelta(seconds=1)},
        "expires_now": {"expires_at": clock.now()},
        "gone": {},
    }
    Passcode.objects.filter(pk=issued.id).update(**changes[state])
    if state == "gone":
        Passcode.objects.filter(pk=issued.id).delete()

    claimed = claim(
        row.pk, clock.now(), passcode_email=delivery._usable_email(issued.id, clock.now())
    )

    usable = passcodes.is_usable(issued.id, EMAIL)
    assert usable == (state == "live")
    assert claimed.passcode_email == (EMAIL if usable else None)


def test_the_read_takes_the_time_it_is_given(clock):
    issued, row = queue_passcode()
    expires_at = Passcode.objects.get(pk=issued.id).expires_at

    before = claim(
        row.pk, clock.now(), p=delivery._usable_email(issued.id, expires_at - timedelta(seconds=1))
    )
    after = claim(row.pk, clock.now(), p=delivery._usable_email(issued.id, expires_at))

    assert (before.p, after.p) == (EMAIL, None)


def test_a_passcode_id_that_is_not_one_reads_null(clock):
    _, row = queue_passcode()

    assert claim(row.pk, clock.now(), p=delivery._usable_email("not-a-uuid", clock.now())).p is None


def test_a_dead_passcodes_email_is_closed_unsent_by_the_compiled_claim(clock, mailoutbox):
    issued, row = queue_passcode()
    mail.deliver(str(queue_passcode()[1].pk), passcode_id=queue_passcode()[0].id)  # compiled
    Passcode.objects.filter(pk=issued.id).update(tries=passcodes.MAX_TRIES)

    assert mail.deliver(str(row.pk), passcode_id=issued.id).outcome == "stale"
    row.refresh_from_db()
    assert (row.status, row.secret, row.sent_at) == (OutboxEmail.Status.FAILED, None, None)
    assert all(issued.code not in message.body for message in mailoutbox)


def test_the_claim_is_compiled_once(clock, mailoutbox, monkeypatch):
    first, first_row = queue_passcode()
    mail.deliver(str(first_row.pk), passcode_id=first.id)
    mail.deliver(str(queue_passcode()[1].pk))
    second, second_row = queue_passcode()
    _, plain = queue_passcode()
    texts = compiled(monkeypatch)

    assert mail.deliver(str(second_row.pk), passcode_id=second.id).outcome == "sent"
    assert mail.deliver(str(plain.pk)).outcome == "sent"  # checks its passcode on its own

    assert not [sql for sql in texts if "hankoflow_outbox_email" in sql]


def test_an_email_without_a_dedupe_key_is_queued_without_compiling(monkeypatch):
    texts = compiled(monkeypatch, SQLInsertCompiler)

    row = mail.queue("password_update", to=EMAIL, language="en", context={})

    assert texts == []
    assert OutboxEmail.objects.get(pk=row.pk).kind == "password_update"


def test_the_webhook_outbox_claims_its_rows_too(clock):
    row = WebhookDelivery.objects.create(callback="https://example.com/hook", event="user", data={})
    alias = router.db_for_write(WebhookDelivery)

    with transaction.atomic(using=alias):
        claimed = outbox_rows.claim_due(
            WebhookDelivery,
            str(row.pk),
            alias=alias,
            pending=WebhookDelivery.Status.PENDING,
            now=clock.now(),
        )

    assert claimed.pk == row.pk and claimed.data == {} and claimed.webhook_id is None


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("postgres_only")
def test_a_row_another_transaction_holds_is_skipped_not_waited_for(monkeypatch):
    monkeypatch.setattr(dispatch, "send_after_commit", lambda *args: None)  # not sent at once
    issued, row = queue_passcode()
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        OutboxEmail.objects.select_for_update().get(pk=row.pk)
        held.set()
        release.wait(timeout=30)

    def claim_while_held() -> OutboxEmail | None:
        held.wait(timeout=30)
        try:
            return claim(row.pk, hankoflow_clock.now())
        finally:
            release.set()

    _, claimed = run_concurrently([hold, claim_while_held])

    assert claimed is None
    assert mail.deliver(str(row.pk), passcode_id=issued.id).outcome == "sent"  # once it is free
