"""An email whose passcode died before it went out is not sent (platform.md §7, PC-07).

A resend replaces the passcode of the flow, and every passcode expires; when its email is still
pending then (broker down, a retry after an SMTP failure, a late worker), sending it would mail a
dead code and, after a resend, two codes of which only the newest works. The sweeper and the
task close such rows as ``failed`` with the reason in ``last_error`` instead.
"""

from __future__ import annotations

import smtplib
import uuid

import pytest

from hankoflow.models import OutboxEmail
from hankoflow.services import accounts, mail
from hankoflow.tasks import send_outbox_email, send_pending_outbox
from hankoflow.testing.client import FlowClient, FlowResponse
from hankoflow.testing.plugin import last_passcode
from tests.celery_worker import celery_publishing_to

EMAIL = "jane@example.com"


@pytest.fixture
def passcode_state(flow_client: FlowClient) -> FlowResponse:
    """``passcode_confirmation`` of a login whose email is still pending (the broker lost it)."""
    accounts.create(
        uuid.uuid4(), email=EMAIL, email_verified=True, username=None, password_hash=None
    )
    with celery_publishing_to("memory://"):
        state = flow_client.act(flow_client.start("login"), "register_client_capabilities", {})
        state = flow_client.act(state, "continue_with_login_identifier", {"email": EMAIL})
        state = flow_client.act(state, "continue_to_passcode_confirmation")
    assert state.state == "passcode_confirmation"
    assert OutboxEmail.objects.get().status == OutboxEmail.Status.PENDING
    return state


def test_sweeper_skips_the_code_a_resend_replaced(flow_client, passcode_state, clock, mailoutbox):
    with celery_publishing_to("memory://"):
        resent = flow_client.act(passcode_state, "resend_passcode")
    old, new = OutboxEmail.objects.order_by("created_at")
    clock.advance(seconds=mail.SWEEP_AFTER + 1)

    result = mail.sweep()

    assert (result.sent, result.stale) == (1, 1)
    assert len(mailoutbox) == 1
    old.refresh_from_db(), new.refresh_from_db()
    assert new.status == OutboxEmail.Status.SENT
    assert old.status == OutboxEmail.Status.FAILED and old.secret is None and old.attempts == 0
    assert old.last_error == "not sent: a newer passcode replaced this one"
    done = flow_client.act(resent, "verify_passcode", {"code": last_passcode(mailoutbox, EMAIL)})
    assert done.state == "success"


def test_sweeper_skips_an_expired_code(passcode_state, clock, mailoutbox, settings):
    clock.advance(seconds=300)  # EMAIL.PASSCODE_TTL: expired at the TTL

    assert send_pending_outbox()["stale"] == 1

    assert mailoutbox == []
    row = OutboxEmail.objects.get()
    assert row.status == OutboxEmail.Status.FAILED and row.secret is None
    assert row.last_error == "not sent: the passcode expired or was used up before it went out"


def test_a_late_task_does_not_send_a_dead_code(passcode_state, clock, mailoutbox):
    row = OutboxEmail.objects.get()
    clock.advance(seconds=301)

    assert send_outbox_email(str(row.pk)) == "stale"

    assert mailoutbox == []
    row.refresh_from_db()
    assert row.status == OutboxEmail.Status.FAILED


def test_a_retry_after_a_resend_does_not_send_the_old_code(
    flow_client, passcode_state, clock, mailoutbox, monkeypatch
):
    old = OutboxEmail.objects.get()
    refused = smtplib.SMTPResponseException(451, b"try again later")
    with monkeypatch.context() as patch:
        patch.setattr("django.core.mail.EmailMessage.send", _raise(refused))
        assert mail.deliver(str(old.pk)).outcome == "retry"
    flow_client.act(passcode_state, "resend_passcode")  # sent at once: the broker is back
    assert len(mailoutbox) == 1
    clock.advance(seconds=mail.RETRY_BASE_DELAY + 1)

    assert mail.deliver(str(old.pk)).outcome == "stale"

    assert len(mailoutbox) == 1
    old.refresh_from_db()
    assert old.status == OutboxEmail.Status.FAILED and old.attempts == 1


def test_notices_of_a_dead_passcode_are_skipped_too(flow_client, clock, mailoutbox):
    with celery_publishing_to("memory://"):
        state = flow_client.act(flow_client.start("login"), "register_client_capabilities", {})
        state = flow_client.act(
            state, "continue_with_login_identifier", {"email": "no@example.com"}
        )
        flow_client.act(state, "continue_to_passcode_confirmation")
    clock.advance(seconds=300)

    assert mail.sweep().stale == 1
    assert mailoutbox == []


def test_a_live_code_is_sent(passcode_state, clock, mailoutbox):
    clock.advance(seconds=mail.SWEEP_AFTER + 1)

    assert mail.sweep().sent == 1
    assert len(mailoutbox) == 1


def test_emails_without_a_passcode_are_not_affected(db, clock, mailoutbox):
    with celery_publishing_to("memory://"):
        mail.queue("password_update", to=EMAIL, language="en", context={}, dedupe_key="x:1")
    clock.advance(days=1)

    assert mail.sweep().sent == 1


def _raise(exc: Exception):
    def send(*args, **kwargs):
        raise exc

    return send
