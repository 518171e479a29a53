"""The adapter's ``send_mail(kind, to, context)`` is where an email leaves (hankoflow/adapter.py):
a host can send through its own mail service, and every path uses the project's EMAIL_BACKEND
by default (the task, the in-process send, the sweeper and ``manage.py hankoflow_send_outbox``).
"""

from __future__ import annotations

import smtplib
import uuid
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core import mail as django_mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.test import override_settings

from hankoflow import clock
from hankoflow.adapter import DefaultHankoflowAdapter
from hankoflow.emails import UndeliverableEmail
from hankoflow.models import OutboxEmail
from hankoflow.services import accounts, mail

EMAIL = "jane@example.com"
SENT: list[tuple[str, str, dict[str, Any]]] = []


class ApiMailAdapter(DefaultHankoflowAdapter):
    """A host that sends through a mail API instead of Django's EMAIL_BACKEND."""

    failure: Exception | None = None

    def send_mail(self, kind: str, to: str, context: dict[str, Any]) -> None:
        if ApiMailAdapter.failure is not None:
            raise ApiMailAdapter.failure
        SENT.append((kind, to, dict(context)))


class RecordingBackend(BaseEmailBackend):
    """A project's own EMAIL_BACKEND."""

    messages: list = []

    def send_messages(self, email_messages) -> int:
        RecordingBackend.messages.extend(email_messages)
        return len(email_messages)


@pytest.fixture
def api_adapter():
    SENT.clear()
    ApiMailAdapter.failure = None
    with override_settings(HANKOFLOW={"ADAPTER": f"{__name__}.ApiMailAdapter"}):
        yield SENT
    ApiMailAdapter.failure = None


@pytest.fixture
def recording_backend():
    RecordingBackend.messages = []
    with override_settings(EMAIL_BACKEND=f"{__name__}.RecordingBackend"):
        yield RecordingBackend.messages


def pending_login(code: str = "123456", age: int = 60) -> OutboxEmail:
    """A committed row that nobody sent yet (its publish got lost)."""
    row = mail.queue("login", to=EMAIL, language="pt-BR", context={}, secret={"code": code})
    OutboxEmail.objects.filter(pk=row.pk).update(created_at=clock.now() - timedelta(seconds=age))
    return row


def test_a_flow_steps_passcode_email_goes_through_the_adapter(api_adapter, flow_client, mailoutbox):
    accounts.create(
        uuid.uuid4(), email=EMAIL, email_verified=True, username=None, password_hash=None
    )
    state = flow_client.act(flow_client.start("login"), "register_client_capabilities", {})
    state = flow_client.act(state, "continue_with_login_identifier", {"email": EMAIL})

    flow_client.act(state, "continue_to_passcode_confirmation", **{"X-Language": "de-AT"})

    ((kind, to, context),) = api_adapter
    assert (kind, to) == ("login", EMAIL)
    assert set(context) == {"code", "language", "message_id", "service_name", "ttl_minutes"}
    assert context["language"] == "de"
    assert context["service_name"] == "Hanko Authentication Service"
    assert context["ttl_minutes"] == 5
    assert len(context["code"]) == 6 and context["code"].isdigit()
    assert mailoutbox == [], "EMAIL_BACKEND is not used when the adapter sends"
    row = OutboxEmail.objects.get()
    assert row.status == OutboxEmail.Status.SENT and row.secret is None
    assert context["message_id"] == f"<{row.pk}@hanko.io>"  # the same for a copy sent again


@pytest.mark.django_db
def test_notices_reach_the_adapter_without_a_code(api_adapter, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        row = mail.queue("email_login_attempted", to=EMAIL, language="fr", context={})

    ((kind, to, context),) = api_adapter
    assert kind == "email_login_attempted" and to == EMAIL
    assert context == {
        "language": "fr",
        "service_name": "Hanko Authentication Service",
        "message_id": f"<{row.pk}@hanko.io>",
    }


@pytest.mark.django_db
def test_an_adapter_failure_is_retried_with_backoff(api_adapter):
    row = pending_login()
    ApiMailAdapter.failure = TimeoutError("mail API slow")

    assert mail.deliver(str(row.pk)) == mail.Delivery("retry", retry_in=mail.RETRY_BASE_DELAY)
    row.refresh_from_db()
    assert row.status == OutboxEmail.Status.PENDING and "mail API slow" in row.last_error


@pytest.mark.django_db
@pytest.mark.parametrize(
    "failure",
    [UndeliverableEmail("address rejected by the API"), smtplib.SMTPDataError(554, b"no")],
)
def test_an_undeliverable_email_fails_at_once(api_adapter, failure):
    row = pending_login()
    ApiMailAdapter.failure = failure

    assert mail.deliver(str(row.pk)).outcome == "failed"
    row.refresh_from_db()
    assert row.status == OutboxEmail.Status.FAILED and row.attempts == 1 and row.secret is None


@pytest.mark.django_db
def test_a_missing_template_fails_at_once(settings, tmp_path):
    row = pending_login()
    # A host template that includes one that does not exist.
    broken = tmp_path / "hankoflow" / "email"
    broken.mkdir(parents=True)
    (broken / "login_subject.txt").write_text('{% include "no/such/template.txt" %}')
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]

    assert mail.deliver(str(row.pk)).outcome == "failed"
    row.refresh_from_db()
    assert "TemplateDoesNotExist" in row.last_error


@pytest.mark.django_db
def test_the_command_sends_through_the_projects_email_backend(recording_backend, mailoutbox):
    pending_login("864202")
    out = StringIO()

    call_command("hankoflow_send_outbox", stdout=out, verbosity=2)

    (message,) = recording_backend
    assert message.to == [EMAIL] and "864202" in message.body
    assert message.extra_headers["Content-Language"] == "pt-br"
    assert mailoutbox == []
    assert out.getvalue().splitlines() == [
        "sent 1, not sent (delivery disabled) 0, to retry 0, failed 0, skipped 0, "
        "not sent (passcode dead) 0",
        f"through EMAIL_BACKEND {__name__}.RecordingBackend",
    ]


@pytest.mark.django_db
def test_the_command_names_the_backend_when_sending_fails(monkeypatch):
    pending_login()
    out = StringIO()
    monkeypatch.setattr(
        django_mail.EmailMultiAlternatives,
        "send",
        lambda self, *a, **kw: (_ for _ in ()).throw(ConnectionRefusedError("localhost:25")),
    )

    with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend"):
        call_command("hankoflow_send_outbox", stdout=out)

    assert "to retry 1" in out.getvalue()
    assert "through EMAIL_BACKEND django.core.mail.backends.smtp.EmailBackend" in out.getvalue()


@pytest.mark.django_db
def test_the_command_names_the_adapter_that_sends(api_adapter):
    pending_login()
    out = StringIO()

    call_command("hankoflow_send_outbox", stdout=out, verbosity=2)

    assert len(api_adapter) == 1
    assert f"through {__name__}.ApiMailAdapter.send_mail" in out.getvalue()
