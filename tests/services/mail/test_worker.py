"""A real Celery worker sends the outbox through a real SMTP server (security-checks.md RE-03,
RE-04, §5.7).

The test starts its own short-lived worker (``celery_worker`` in tests/celery_worker.py): the one
``bin/services`` runs reads the ``hankoflow`` database and the environment's ``EMAIL_URL``, while
this test's rows live in the test database and its mail must reach the test's SMTP sink.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction

from hankoflow import clock
from hankoflow.models import OutboxEmail
from hankoflow.services import mail
from hankoflow.tasks import send_pending_outbox
from hankoflow.testing.smtp import SmtpSink
from tests.celery_worker import celery_publishing_to, celery_worker, private_broker_url, tail

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("HANKOFLOW_TEST_SERVICES") != "1",
        reason="needs the real services: run bin/test (or bin/services start + env)",
    ),
]


@pytest.fixture
def worker(smtp_sink: SmtpSink, tmp_path: Path) -> Iterator[Path]:
    """A Celery worker on the test database, a private broker and the SMTP sink; its log."""
    log = tmp_path / "worker.log"
    with celery_worker(email_url=smtp_sink.url, broker_url=private_broker_url(), log=log):
        yield log


def wait_for_row(pk, status: str, log: Path, timeout: float = 15.0) -> OutboxEmail:
    deadline = time.monotonic() + timeout
    while True:
        row = OutboxEmail.objects.get(pk=pk)
        if row.status == status:
            return row
        if time.monotonic() > deadline:
            pytest.fail(f"row {pk} is {row.status}, not {status}; worker log:\n{tail(log)}")
        time.sleep(0.2)


def receive(sink: SmtpSink, to: str, log: Path, timeout: float = 60.0):
    try:
        return sink.wait_for(to, timeout=timeout)
    except AssertionError as error:
        pytest.fail(f"{error}\nworker log:\n{tail(log)}")


@pytest.mark.django_db(transaction=True)
def test_worker_sends_outbox_email_through_smtp(worker, smtp_sink, closed_port):
    with celery_publishing_to(private_broker_url()):
        # 1. A step commits: its email is published and the worker sends it.
        with transaction.atomic():
            row = mail.queue(
                "login", to="jane@example.com", language="de-DE", context={},
                secret={"code": "304817"},
            )  # fmt: skip
        received = receive(smtp_sink, "jane@example.com", worker)
        assert received.subject == "304817 ist Ihr Anmeldecode für Hanko Authentication Service"
        assert received.code == "304817"
        assert "304817" in received.html
        assert received.message["From"] == "Hanko <noreply@hanko.io>"
        assert received.message["Content-Language"] == "de"
        assert received.message.get_content_type() == "multipart/alternative"
        sent = wait_for_row(row.pk, OutboxEmail.Status.SENT, worker)
        assert sent.secret is None and sent.attempts == 1

        # 2. The broker was down when a step committed: the beat task, run by the worker,
        #    sends the row once; a second sweep sends nothing.
        with celery_publishing_to(f"redis://127.0.0.1:{closed_port}/0"), transaction.atomic():
            lost = mail.queue(
                "email_login_attempted", to="nobody@example.com", language="fr", context={}
            )
        assert OutboxEmail.objects.get(pk=lost.pk).status == OutboxEmail.Status.PENDING
        OutboxEmail.objects.filter(pk=lost.pk).update(
            created_at=clock.now() - timedelta(seconds=60)
        )
        send_pending_outbox.delay()
        notice = receive(smtp_sink, "nobody@example.com", worker)
        assert notice.subject == "Tentative de connexion avec une adresse e-mail non enregistrée"
        assert notice.code is None
        wait_for_row(lost.pk, OutboxEmail.Status.SENT, worker)
        send_pending_outbox.delay()

        # 3. The SMTP server refuses for a moment (451): the worker retries with backoff.
        smtp_sink.fail_next(1)
        with transaction.atomic():
            retried = mail.queue(
                "recovery", to="joe@example.com", language="en", context={},
                secret={"code": "771905"},
            )  # fmt: skip
        received = receive(smtp_sink, "joe@example.com", worker, timeout=60)
        assert received.code == "771905"
        row = wait_for_row(retried.pk, OutboxEmail.Status.SENT, worker)
        assert row.attempts == 2 and "451" not in row.last_error

    assert [m.rcpt_tos for m in smtp_sink.messages] == [
        ("jane@example.com",),
        ("nobody@example.com",),
        ("joe@example.com",),
    ], "each email exactly once"
