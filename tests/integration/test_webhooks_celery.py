"""Webhooks through the REAL Celery worker to a REAL HTTP receiver on 127.0.0.1 (platform.md
§5.3, §5.5): the signature checks out with the published JWKS, a 500 is retried, a hook that
keeps failing is disabled, nothing is lost while the broker is down, and a private address is
refused unless allowed.

Each test runs its own worker (tests/celery_worker.py) on the test database and a private Redis
database; ``HANKOFLOW_WEBHOOKS_*`` variables (read by project/settings.py) let it call the
receiver on 127.0.0.1 and retry after one second.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from django.db import transaction

from hankoflow import clock
from hankoflow.models import Webhook, WebhookAttempt, WebhookDelivery
from hankoflow.services import jwks, webhooks
from hankoflow.services.webhooks import events, registry
from hankoflow.tasks import send_pending_webhooks
from tests.celery_worker import (
    WEBHOOK_TEST_BROKER_DB,
    celery_publishing_to,
    celery_worker,
    private_broker_url,
    purge_broker,
    tail,
)
from tests.webhook_receiver import Receiver, webhook_receiver

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("HANKOFLOW_TEST_SERVICES") != "1",
        reason="needs the real services: run bin/test (or bin/services start + env)",
    ),
    pytest.mark.django_db(transaction=True),
]

FAST_RETRIES = {
    "HANKOFLOW_WEBHOOKS_RETRY_MAX_ATTEMPTS": "2",
    "HANKOFLOW_WEBHOOKS_RETRY_BASE_DELAY": "1",
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """``start_worker(allow_private=True)``: a worker on the test database and a private broker
    that this process publishes to; its log."""
    broker = private_broker_url(WEBHOOK_TEST_BROKER_DB)
    purge_broker(broker)
    jwks.signing_key()  # the key the worker signs with, created here once
    with ExitStack() as stack:

        def start(*, allow_private: bool = True) -> Path:
            log = tmp_path / "worker.log"
            extra = {
                **FAST_RETRIES,
                "HANKOFLOW_WEBHOOKS_ALLOW_PRIVATE_NETWORKS": "1" if allow_private else "0",
            }
            stack.enter_context(
                celery_worker(
                    email_url="consolemail://", broker_url=broker, log=log, extra_env=extra
                )
            )
            stack.enter_context(celery_publishing_to(broker))
            return log

        yield start


def wait_until(check: Callable[[], bool], log: Path, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; worker log:\n{tail(log)}")
        time.sleep(0.2)


def status_of(row: WebhookDelivery) -> str:
    return WebhookDelivery.objects.get(pk=row.pk).status


def emit_committed(event: str = events.USER_LOGIN) -> list[WebhookDelivery]:
    with transaction.atomic():
        return webhooks.emit(event, {"id": "6a1f0e1c-0000-4000-8000-000000000000"})


def verify_with_jwks(client, token: str) -> dict:
    keys = jwt.PyJWKSet.from_dict(client.get("/.well-known/jwks.json").json())
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.decode(token, keys[kid].key, algorithms=["RS256"], audience="localhost")


def test_signed_delivery_retried_after_a_500(start_worker, receiver, client):
    log = start_worker()
    hook = registry.create(receiver.url, ["user"])
    Webhook.objects.filter(pk=hook.pk).update(failures=2)
    receiver.statuses[:] = [500]
    [row] = emit_committed()
    calls = receiver.wait_for(2, timeout=60)
    wait_until(lambda: status_of(row) == "sent", log, "the delivery to be sent")
    for call in calls:
        assert call.body["event"] == "user.login"
        claims = verify_with_jwks(client, call.body["token"])
        assert claims["sub"] == "hanko webhooks" and claims["evt"] == "user.login"
        assert claims["data"] == {"id": "6a1f0e1c-0000-4000-8000-000000000000"}
    row.refresh_from_db()
    assert row.attempts == 2 and row.last_status_code == 200
    codes = list(WebhookAttempt.objects.filter(delivery=row).values_list("status_code", flat=True))
    assert codes == [500, 200]
    hook.refresh_from_db()
    assert hook.failures == 0 and hook.enabled


def test_a_hook_that_keeps_failing_is_disabled(start_worker, receiver):
    log = start_worker()
    hook = registry.create(receiver.url, ["user.login"])
    receiver.statuses[:] = [500] * 100
    rows = []
    for _ in range(6):
        rows += emit_committed()
    wait_until(
        lambda: not Webhook.objects.get(pk=hook.pk).enabled, log, "the hook to be disabled", 120
    )
    hook.refresh_from_db()
    assert hook.failures == 6
    assert {status_of(row) for row in rows} == {"failed"}
    assert len(receiver.received) == 12  # two attempts each
    assert emit_committed() == []  # a disabled hook gets nothing more


def test_nothing_is_lost_while_the_broker_is_down(start_worker, receiver):
    log = start_worker()
    registry.create(receiver.url, ["session"])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with celery_publishing_to(f"redis://127.0.0.1:{closed}/0"):
        [row] = emit_committed(events.SESSION_DELETE_LOGOUT)  # the commit does not fail
    assert status_of(row) == "pending"
    assert receiver.received == []
    WebhookDelivery.objects.filter(pk=row.pk).update(created_at=clock.now() - timedelta(seconds=60))
    send_pending_webhooks.delay()  # the beat task, run by the worker, catches up
    [call] = receiver.wait_for(1, timeout=60)
    assert call.body["event"] == "session.delete.explicit.logout"
    wait_until(lambda: status_of(row) == "sent", log, "the swept delivery to be sent")
    send_pending_webhooks.delay()
    time.sleep(1)
    assert len(receiver.received) == 1, "sent exactly once"


def test_a_private_address_is_refused_by_default(start_worker, receiver):
    log = start_worker(allow_private=False)
    hook = registry.create(receiver.url, ["user"])
    [row] = emit_committed()
    wait_until(lambda: status_of(row) == "failed", log, "the delivery to be refused")
    row.refresh_from_db()
    assert row.attempts == 1 and "loopback address 127.0.0.1" in row.last_error
    assert receiver.received == []
    hook.refresh_from_db()
    assert hook.failures == 1
