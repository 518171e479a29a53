"""``manage.py hankoflow_send_test_email ADDRESS`` (issue 11): through the outbox and the
adapter's ``send_mail``, reporting sent or failed."""

from __future__ import annotations

import smtplib
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from hankoflow.adapter import DefaultHankoflowAdapter
from hankoflow.emails import UndeliverableEmail
from hankoflow.models import OutboxEmail

pytestmark = pytest.mark.django_db


class RefusingAdapter(DefaultHankoflowAdapter):
    def send_mail(self, kind: str, to: str, context: dict[str, Any]) -> None:
        raise UndeliverableEmail("550 no such mailbox")


class FlakyAdapter(DefaultHankoflowAdapter):
    def send_mail(self, kind: str, to: str, context: dict[str, Any]) -> None:
        raise smtplib.SMTPServerDisconnected("connection lost")


def _run(*args: str) -> str:
    out = StringIO()
    call_command("hankoflow_send_test_email", *args, stdout=out)
    return out.getvalue()


def test_sends_through_the_outbox_and_the_email_backend(mailoutbox):
    out = _run("ops@example.com")
    assert out.startswith("sent to ops@example.com (en, outbox row ")
    assert "EMAIL_BACKEND" in out
    [message] = mailoutbox
    assert message.to == ["ops@example.com"]
    assert message.subject == "Test email from Hanko Authentication Service"
    assert "test message" in message.body
    row = OutboxEmail.objects.get()
    assert (row.kind, row.status, row.attempts) == ("test", "sent", 1)


def test_writes_in_the_language_asked_for(mailoutbox):
    _run("ops@example.com", "--language", "de-AT")
    assert mailoutbox[0].subject == "Test-E-Mail von Hanko Authentication Service"
    assert OutboxEmail.objects.get().language == "de"


def test_a_refused_address_is_reported_as_failed():
    with (
        override_settings(HANKOFLOW={"ADAPTER": f"{__name__}.RefusingAdapter"}),
        pytest.raises(CommandError, match="failed to ops@example.com.*550 no such mailbox"),
    ):
        _run("ops@example.com")
    assert OutboxEmail.objects.get().status == "failed"


def test_a_transient_failure_is_reported_with_its_retry():
    with (
        override_settings(HANKOFLOW={"ADAPTER": f"{__name__}.FlakyAdapter"}),
        pytest.raises(CommandError, match="not sent yet.*connection lost.*retried from"),
    ):
        _run("ops@example.com")


def test_disabled_delivery_is_not_reported_as_sent(mailoutbox):
    with (
        override_settings(HANKOFLOW={"EMAIL_DELIVERY": {"ENABLED": False}}),
        pytest.raises(CommandError, match="not sent.*EMAIL_DELIVERY.ENABLED is off"),
    ):
        _run("ops@example.com")
    assert mailoutbox == []


@pytest.mark.parametrize("address", ["not-an-address", "", "a@b@example.com"])
def test_a_bad_address_is_refused(address):
    with pytest.raises(CommandError, match="not an email address"):
        _run(address)
    assert not OutboxEmail.objects.exists()


def test_help():
    from hankoflow.management.commands.hankoflow_send_test_email import Command

    text = Command().create_parser("manage.py", "hankoflow_send_test_email").format_help()
    assert "address" in text and "--language" in text and "--wait" in text
