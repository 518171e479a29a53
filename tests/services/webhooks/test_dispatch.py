"""How a committed delivery leaves (``EMAIL_DELIVERY.MODE``, as the email outbox): through
Celery, or in this process; a broker that is down neither fails nor loses it."""

from __future__ import annotations

import logging
import socket

import pytest
from django.db import transaction
from django.test import override_settings

from hankoflow.models import WebhookDelivery
from hankoflow.services import webhooks
from hankoflow.services.webhooks import dispatch, events, registry
from tests.celery_worker import celery_publishing_to

LOCAL = {"ALLOW_PRIVATE_NETWORKS": True}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_is_down_leaves_the_delivery_pending(receiver, caplog):
    registry.create(receiver.url, ["user"])
    caplog.set_level(logging.WARNING, logger="hankoflow.services.webhooks.dispatch")
    with celery_publishing_to(f"redis://127.0.0.1:{closed_port()}/0"), transaction.atomic():
        [row] = webhooks.emit(events.USER_LOGIN, {"id": "u"})  # the commit must not raise
    assert WebhookDelivery.objects.get(pk=row.pk).status == "pending"
    assert "the sweeper will send it" in caplog.text
    assert receiver.received == []
    # The sweeper (here: in-process) sends it.
    assert webhooks.sweep(older_than=0).sent == 1
    assert len(receiver.wait_for(1)) == 1


@pytest.mark.django_db(transaction=True)
def test_inline_mode_sends_after_the_commit_in_this_process(receiver):
    registry.create(receiver.url, ["user"])
    settings = {"EMAIL_DELIVERY": {"MODE": "inline"}, "WEBHOOKS": LOCAL}
    with override_settings(HANKOFLOW=settings):
        with transaction.atomic():
            [row] = webhooks.emit(events.USER_LOGIN, {"id": "u"})
            assert receiver.received == []  # nothing before the commit
        assert WebhookDelivery.objects.get(pk=row.pk).status == "sent"
    assert len(receiver.received) == 1


@pytest.mark.django_db(transaction=True)
def test_an_inline_send_that_raises_does_not_fail_the_commit(receiver, monkeypatch):
    registry.create(receiver.url, ["user"])

    def broken(delivery_id):
        raise RuntimeError("boom")

    monkeypatch.setattr(dispatch, "deliver", broken)
    inline = override_settings(HANKOFLOW={"EMAIL_DELIVERY": {"MODE": "inline"}})
    with inline, transaction.atomic():
        [row] = webhooks.emit(events.USER_LOGIN, {"id": "u"})
    assert WebhookDelivery.objects.get(pk=row.pk).status == "pending"


def test_mode_follows_email_delivery_mode():
    with override_settings(HANKOFLOW={"EMAIL_DELIVERY": {"MODE": "inline"}}):
        assert dispatch.uses_celery(dispatch.celery_app()) is False
    with override_settings(HANKOFLOW={"EMAIL_DELIVERY": {"MODE": "celery"}}):
        assert dispatch.uses_celery(None) is True
