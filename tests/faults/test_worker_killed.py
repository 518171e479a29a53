"""A Celery worker killed (SIGKILL) mid-delivery (issue 16; security-checks.md RE-04).

A private worker (solo pool: the task runs in the worker process) sends through a receiver that
stalls at a chosen point; the test kills the worker there, starts a new one and lets the two
ways a lost task comes back run: the sweeper (Celery beat, every minute, for rows pending more
than 30 s) and the broker's redelivery of the unacknowledged task (``task_acks_late``; Redis
hands it out again once its visibility timeout has passed). What it proves:

* nothing is lost: the killed attempt's transaction dies with its connection, so the row is
  still pending and is sent again;
* killed before the receiver took the message (SMTP: no 250 yet), it arrives exactly once;
* killed after the receiver took it (the SMTP server answered 250, or the webhook receiver got
  the POST) but before our commit, it arrives twice: delivery is AT LEAST ONCE. Both copies
  carry the same idempotency key, for the receiver to drop the second: the email's
  ``Message-ID``, the webhook's ``Webhook-Id`` header (the delivery's id);
* once sent, the redelivered task and later sweeps send nothing more.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from kombu import Connection

from hankoflow import clock
from hankoflow.models import OutboxEmail, WebhookAttempt, WebhookDelivery
from hankoflow.services import jwks, mail, webhooks
from hankoflow.services.webhooks import events, registry
from hankoflow.tasks import send_pending_outbox, send_pending_webhooks
from tests.celery_worker import celery_publishing_to, database_url_for_workers
from tests.faults.services import PrivateRedis, app_env, running, start_worker, wait_until
from tests.faults.stalls import stalling_receiver, stalling_smtp

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SKIPPED = re.compile(r"hankoflow\.send_\w+\[[0-9a-f-]+\] succeeded in [\d.]+s: 'skipped'")


@pytest.fixture
def broker(private_redis: PrivateRedis) -> Iterator[str]:
    """A private Redis as the broker, which this process publishes to."""
    url = private_redis.url(0)
    with celery_publishing_to(url):
        yield url


def worker_env(broker: str, email_url: str = "consolemail://") -> dict[str, str]:
    return app_env(
        DJANGO_SETTINGS_MODULE="project.settings",
        DATABASE_URL=database_url_for_workers(),  # the test database
        CELERY_BROKER_URL=broker,
        EMAIL_URL=email_url,
        HANKOFLOW_WEBHOOKS_ALLOW_PRIVATE_NETWORKS="1",  # the receiver is on 127.0.0.1
    )


def redeliver_unacknowledged(broker: str) -> None:
    """What Redis does for a task that was never acknowledged once its visibility timeout (an
    hour by default) has passed: hand it out again."""
    with Connection(broker, transport_options={"visibility_timeout": 0}) as connection:
        connection.default_channel.qos.restore_visible(num=100)


def redelivered_and_skipped(log: Path) -> bool:
    return bool(SKIPPED.search(log.read_text(errors="replace")))


def sweep_soon(model, pk) -> None:
    """As if the 30 s after which the sweeper takes a row over had passed."""
    model.objects.filter(pk=pk).update(created_at=clock.now() - timedelta(seconds=60))


@pytest.mark.parametrize(("stage", "copies"), [("before_accept", 1), ("after_accept", 2)])
def test_worker_killed_while_sending_an_email(broker: str, tmp_path: Path, stage, copies):
    with stalling_smtp(stage) as sink:
        env = worker_env(broker, sink.url)
        with running(start_worker(env, tmp_path / "first.log")) as first:
            with transaction.atomic():
                row = mail.queue(
                    "login", to="jane@example.com", language="en", context={},
                    secret={"code": "304817"},
                )  # fmt: skip
            wait_until(sink.stalled.is_set, timeout=30, what=f"a send stalled ({first.log})")
            first.kill9()
        sink.released.set()
        # The killed attempt's transaction died with its connection: nothing was recorded.
        killed = OutboxEmail.objects.get(pk=row.pk)
        assert (killed.status, killed.attempts) == (OutboxEmail.Status.PENDING, 0)

        with running(start_worker(env, tmp_path / "second.log")) as second:
            sweep_soon(OutboxEmail, row.pk)
            send_pending_outbox.delay()  # Celery beat's tick
            wait_until(
                lambda: OutboxEmail.objects.get(pk=row.pk).status == OutboxEmail.Status.SENT,
                timeout=30,
                what=f"the sweeper's send ({second.log_tail()})",
            )
            redeliver_unacknowledged(broker)
            wait_until(
                lambda: redelivered_and_skipped(second.log),
                timeout=30,
                what=f"the killed task redelivered ({second.log_tail()})",
            )
            send_pending_outbox.delay()
            wait_until(
                # The banner names the task, then each run logs "received" and "succeeded".
                lambda: second.log.read_text().count("send_pending_outbox") >= 5,
                timeout=30,
                what="the second sweep",
            )
        stored = list(sink.stored)

    sent = OutboxEmail.objects.get(pk=row.pk)
    assert sent.status == OutboxEmail.Status.SENT and sent.attempts == 1 and sent.secret is None
    assert len(stored) == copies
    assert all("304817" in message.get_body(("plain",)).get_content() for message in stored)
    # One Message-ID for every copy of one row: a mail system can tell a copy from a new email.
    assert {message["Message-ID"] for message in stored} == {f"<{row.pk}@hanko.io>"}


def test_worker_killed_while_calling_a_webhook(broker: str, tmp_path: Path):
    jwks.signing_key()  # the key the workers sign with, created once
    with stalling_receiver() as receiver:
        registry.create(receiver.url, ["user"])
        env = worker_env(broker)
        with running(start_worker(env, tmp_path / "first.log")) as first:
            with transaction.atomic():
                [row] = webhooks.emit(events.USER_LOGIN, {"id": "6a1f0e1c"})
            wait_until(receiver.stalled.is_set, timeout=30, what=f"a call stalled ({first.log})")
            first.kill9()
        receiver.released.set()
        killed = WebhookDelivery.objects.get(pk=row.pk)
        assert (killed.status, killed.attempts) == (WebhookDelivery.Status.PENDING, 0)

        with running(start_worker(env, tmp_path / "second.log")) as second:
            sweep_soon(WebhookDelivery, row.pk)
            send_pending_webhooks.delay()
            wait_until(
                lambda: WebhookDelivery.objects.get(pk=row.pk).status == "sent",
                timeout=30,
                what=f"the sweeper's call ({second.log_tail()})",
            )
            redeliver_unacknowledged(broker)
            wait_until(
                lambda: redelivered_and_skipped(second.log),
                timeout=30,
                what=f"the killed task redelivered ({second.log_tail()})",
            )
        calls = list(receiver.calls)

    # The receiver got the POST before the kill and again from the sweeper: at least once.
    assert len(calls) == 2
    assert [call.headers.get("Webhook-Id") for call in calls] == [str(row.pk)] * 2
    sent = WebhookDelivery.objects.get(pk=row.pk)
    assert sent.attempts == 1 and sent.last_status_code == 200
    # The killed attempt's record was rolled back with it: the log shows one attempt.
    assert WebhookAttempt.objects.filter(delivery=row).count() == 1
