"""The keys a receiver drops a copy by (delivery is at least once, tests/faults/
test_worker_killed.py): every try of one email has the same ``Message-ID``, every attempt of one
webhook delivery the same ``Webhook-Id`` header. Fast: in-process, no worker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings

from hankoflow.models import Webhook
from hankoflow.services import mail, webhooks
from hankoflow.services.webhooks import events, sources
from tests.webhook_receiver import Receiver, webhook_receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with (
        webhook_receiver() as running,
        override_settings(HANKOFLOW={"WEBHOOKS": {"ALLOW_PRIVATE_NETWORKS": True}}),
    ):
        yield running


def test_every_try_of_one_email_has_the_same_message_id(mailoutbox, clock):
    row = mail.queue("email_login_attempted", to="jane@example.com", language="en", context={})
    other = mail.queue("email_login_attempted", to="jane@example.com", language="en", context={})
    for pk in (row.pk, other.pk):
        assert mail.deliver(str(pk)).outcome == "sent"
    sent = [message.message() for message in mailoutbox]
    assert [message["Message-ID"] for message in sent] == [
        f"<{row.pk}@hanko.io>",
        f"<{other.pk}@hanko.io>",
    ]
    # What a copy sent again after a crash would carry: the stored row builds the same id.
    assert mail.mail_context(row)["message_id"] == f"<{row.pk}@hanko.io>"


def test_every_attempt_of_one_webhook_delivery_has_the_same_webhook_id(receiver, clock):
    Webhook.objects.create(
        callback=receiver.url, events=["user"], expires_at=sources.renewed_expiry()
    )
    receiver.statuses[:] = [500]
    [row] = webhooks.emit(events.USER_LOGIN, {"id": "u1"})
    assert webhooks.deliver(str(row.pk)).outcome == "retry"
    clock.advance(seconds=600)
    assert webhooks.deliver(str(row.pk)).outcome == "sent"
    calls = receiver.wait_for(2)
    assert [call.headers["Webhook-Id"] for call in calls] == [str(row.pk)] * 2
