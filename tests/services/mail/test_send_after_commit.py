"""The send right after a passcode step commits (issue 16): the row is claimed and its passcode
checked in one statement, a dead passcode is still not sent, and an eager Celery app sends in
this process without Celery's wrapper.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection, transaction
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext

from hankoflow.models import OutboxEmail, Passcode
from hankoflow.services import mail, passcodes
from hankoflow.services.mail import dispatch
from hankoflow.testing.plugin import last_passcode

pytestmark = pytest.mark.django_db

EMAIL = "jane@example.com"
CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT")


def queue_passcode(flow_id: str | None = None) -> tuple[passcodes.IssuedPasscode, OutboxEmail]:
    """A passcode and its pending email, as ``steps.deliver_passcode`` writes them."""
    issued = passcodes.issue(email=EMAIL, flow_id=flow_id or str(uuid.uuid4()))
    return issued, queue_email(issued)


def queue_email(issued: passcodes.IssuedPasscode) -> OutboxEmail:
    """The passcode's email queued, as ``steps.deliver_passcode`` queues it."""
    return mail.queue(
        "login",
        to=EMAIL,
        language="en",
        context={},
        secret={"code": issued.code},
        dedupe_key=mail.passcode_dedupe_key(issued.id),
    )


def statements(run) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        run()
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(CONTROL)]


def test_the_row_is_claimed_and_its_passcode_checked_in_one_statement(mailoutbox):
    issued, row = queue_passcode()

    sql = statements(lambda: mail.deliver(str(row.pk), passcode_id=issued.id))

    assert [s.split(None, 1)[0] for s in sql] == ["SELECT", "UPDATE"]  # claim + check, sent
    assert "hankoflow_passcode" in sql[0]
    assert last_passcode(mailoutbox, EMAIL) == issued.code
    assert OutboxEmail.objects.get(pk=row.pk).status == OutboxEmail.Status.SENT


def test_without_the_passcode_id_the_check_is_its_own_statement(mailoutbox):
    issued, row = queue_passcode()

    sql = statements(lambda: mail.deliver(str(row.pk)))

    assert [s.split(None, 1)[0] for s in sql] == ["SELECT", "SELECT", "UPDATE"]
    assert last_passcode(mailoutbox, EMAIL) == issued.code


def test_a_passcode_replaced_before_the_send_is_not_sent(mailoutbox):
    flow_id = str(uuid.uuid4())
    old, row = queue_passcode(flow_id)
    passcodes.issue(email=EMAIL, flow_id=flow_id)  # a resend, before the first email went out

    assert mail.deliver(str(row.pk), passcode_id=old.id).outcome == "stale"

    assert mailoutbox == []
    row.refresh_from_db()
    assert row.status == OutboxEmail.Status.FAILED and row.secret is None
    assert row.last_error == "not sent: a newer passcode replaced this one"


@pytest.mark.parametrize("dead", ["used", "exhausted", "expired"])
def test_a_passcode_dead_before_the_send_is_not_sent(dead, clock, mailoutbox):
    issued, row = queue_passcode()
    changes = {
        "used": {"used_at": clock.now()},
        "exhausted": {"tries": passcodes.MAX_TRIES},
        "expired": {"expires_at": clock.now()},
    }
    Passcode.objects.filter(pk=issued.id).update(**changes[dead])

    assert mail.deliver(str(row.pk), passcode_id=issued.id).outcome == "stale"
    assert mailoutbox == []


def test_an_id_that_is_not_the_rows_passcode_is_not_trusted(mailoutbox):
    issued, row = queue_passcode()
    other, _ = queue_passcode()
    Passcode.objects.filter(pk=issued.id).update(used_at=passcodes.clock.now())

    # The claim read the other (live) passcode: the row's own, dead, is what counts.
    assert mail.deliver(str(row.pk), passcode_id=other.id).outcome == "stale"
    assert [m.to for m in mailoutbox] == []


def test_the_commit_hands_the_passcode_id_on(django_capture_on_commit_callbacks, monkeypatch):
    handed_on = []
    monkeypatch.setattr(dispatch, "send_after_commit", lambda *args: handed_on.append(args))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        issued, row = queue_passcode()
        mail.queue("password_update", to=EMAIL, language="en", context={})

    assert handed_on[0] == (str(row.pk), issued.id)
    assert len(handed_on[1]) == 1  # no passcode: the id alone


def test_an_eager_celery_app_sends_here_without_publishing(
    django_capture_on_commit_callbacks, mailoutbox, monkeypatch
):
    app = dispatch.celery_app()
    assert app is not None and app.conf.task_always_eager  # tests/settings.py
    published = []
    monkeypatch.setattr(dispatch, "_publish", lambda app, outbox_id: published.append(outbox_id))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        issued, row = queue_passcode()

    assert published == []
    assert last_passcode(mailoutbox, EMAIL) == issued.code
    assert OutboxEmail.objects.get(pk=row.pk).status == OutboxEmail.Status.SENT


def test_save_signals_are_sent_when_a_host_listens(mailoutbox):
    """The UPDATE of a row as sent is written once per database; a host that listens to the
    model's save signals still gets it (through the ORM). The deduplicating INSERT never was a
    ``save()``: it compiles through the ORM then, as before."""
    saved = []

    def listener(sender, instance, created, update_fields, **kwargs):
        saved.append((created, sorted(update_fields or [])))

    post_save.connect(listener, sender=OutboxEmail)
    try:
        issued, row = queue_passcode()
        assert mail.deliver(str(row.pk), passcode_id=issued.id).outcome == "sent"
        again = queue_email(issued)
    finally:
        post_save.disconnect(listener, sender=OutboxEmail)

    closed = ["attempts", "last_error", "next_attempt_at", "secret", "sent_at", "status"]
    assert saved == [(False, closed)]
    assert again.pk == row.pk  # the dedupe key held on the ORM's path too
    stored = OutboxEmail.objects.get(pk=row.pk)
    assert (stored.status, stored.secret, stored.attempts) == (OutboxEmail.Status.SENT, None, 1)
    assert len(mailoutbox) == 1


def test_the_row_closed_as_sent_keeps_every_field(clock, mailoutbox):
    clock.stop()
    issued, row = queue_passcode()
    assert mail.deliver(str(row.pk), passcode_id=issued.id).outcome == "sent"
    stored = OutboxEmail.objects.get(pk=row.pk)
    assert (stored.status, stored.secret, stored.attempts, stored.last_error) == (
        OutboxEmail.Status.SENT,
        None,
        1,
        "",
    )
    assert (stored.sent_at, stored.next_attempt_at) == (clock.now(), None)
    assert (stored.kind, stored.to, stored.dedupe_key) == (row.kind, EMAIL, row.dedupe_key)
