"""How a committed email leaves: through Celery, or in-process when there is no broker
(``EMAIL_DELIVERY.MODE``, hankoflow/services/mail/dispatch.py; platform.md §7, RE-03, RE-05).

The issue's host: hankoflow pip-installed into a ``startproject`` project with no Celery app and
no broker (or no Celery at all). Its passcode email must be in the outbox as soon as the flow
step has committed, and ``/health/ready`` must not need a broker.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from celery import Celery
from django.db import transaction
from django.test import override_settings

from hankoflow import clock
from hankoflow.models import OutboxEmail
from hankoflow.services import accounts, mail
from hankoflow.services.mail import dispatch
from hankoflow.testing.client import FlowClient
from hankoflow.testing.plugin import last_passcode
from project.celery import app as project_celery_app

EMAIL = "jane@example.com"


def mode(value: str) -> override_settings:
    return override_settings(HANKOFLOW={"EMAIL_DELIVERY": {"MODE": value}})


@pytest.fixture
def no_broker(monkeypatch: pytest.MonkeyPatch) -> Iterator[Celery]:
    """Celery's current app has no broker and does not run tasks eagerly, while Django's
    settings say ``CELERY_TASK_ALWAYS_EAGER = True`` (tests/settings.py), as in the issue."""
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)  # Celery reads it before its conf
    conf = project_celery_app.conf
    saved = conf.get("broker_url"), conf.task_always_eager
    conf.broker_url, conf.task_always_eager = None, False
    try:
        assert dispatch.celery_app() is project_celery_app
        yield project_celery_app
    finally:
        conf.broker_url, conf.task_always_eager = saved


@pytest.fixture
def no_celery(monkeypatch: pytest.MonkeyPatch) -> None:
    """Celery is not installed (the import fails)."""
    monkeypatch.setattr(dispatch, "celery_app", lambda: None)


@pytest.fixture
def publish_forbidden(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    published: list[str] = []
    monkeypatch.setattr(dispatch, "_publish", lambda app, outbox_id: published.append(outbox_id))
    return published


def queue_login(code: str = "123456") -> OutboxEmail:
    return mail.queue("login", to=EMAIL, language="en", context={}, secret={"code": code})


def start_passcode_login(flow_client: FlowClient):
    accounts.create(
        uuid.uuid4(), email=EMAIL, email_verified=True, username=None, password_hash=None
    )
    state = flow_client.act(flow_client.start("login"), "register_client_capabilities", {})
    state = flow_client.act(state, "continue_with_login_identifier", {"email": EMAIL})
    return flow_client.act(state, "continue_to_passcode_confirmation")


# -- the mode ---------------------------------------------------------------------------------


def celery_app_with(**conf) -> Celery:
    app = Celery("host", set_as_current=False)
    app.conf.update(**conf)
    return app


@pytest.mark.parametrize(
    ("configured", "app", "expected"),
    [
        ("auto", None, "inline"),
        ("auto", celery_app_with(), "inline"),
        ("auto", celery_app_with(broker_url="redis://127.0.0.1:6379/1"), "celery"),
        ("auto", celery_app_with(broker_write_url="redis://127.0.0.1:6379/1"), "celery"),
        ("auto", celery_app_with(task_always_eager=True), "celery"),
        ("inline", celery_app_with(broker_url="redis://127.0.0.1:6379/1"), "inline"),
        ("celery", None, "celery"),
        ("celery", celery_app_with(), "celery"),
    ],
)
def test_delivery_mode(configured, app, expected, monkeypatch):
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    with mode(configured):
        assert dispatch.delivery_mode(app) == expected


def test_the_suites_eager_celery_app_is_celery_mode():
    assert project_celery_app.conf.task_always_eager
    assert dispatch.delivery_mode(dispatch.celery_app()) == "celery"


def test_an_unknown_mode_is_refused_by_the_settings_check():
    from hankoflow.checks import check_settings

    with mode("sometimes"):
        assert "hankoflow.E003" in {problem.id for problem in check_settings()}


# -- no broker: sent in-process after the commit ----------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("host", ["no_broker", "no_celery"])
def test_without_a_broker_the_passcode_email_leaves_when_the_step_commits(
    host, request, flow_client, mailoutbox, publish_forbidden
):
    request.getfixturevalue(host)

    state = start_passcode_login(flow_client)

    assert state.state == "passcode_confirmation"
    assert last_passcode(mailoutbox, EMAIL) is not None
    row = OutboxEmail.objects.get()
    assert row.status == OutboxEmail.Status.SENT and row.secret is None
    assert publish_forbidden == []


@pytest.mark.django_db(transaction=True)
def test_inline_sends_after_the_commit_not_before(no_broker, mailoutbox):
    with transaction.atomic():
        queue_login()
        assert mailoutbox == []

    assert len(mailoutbox) == 1


@pytest.mark.django_db(transaction=True)
def test_inline_rollback_sends_nothing(no_broker, mailoutbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        queue_login()
        raise RuntimeError("the step failed")

    assert mailoutbox == [] and OutboxEmail.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_inline_transient_failure_is_left_to_the_sweeper(no_broker, mailoutbox, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise ConnectionRefusedError("SMTP server down")

    with monkeypatch.context() as patched:
        patched.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
        with transaction.atomic():
            row = queue_login("246810")  # the commit does not raise

    row.refresh_from_db()
    assert row.status == OutboxEmail.Status.PENDING and row.attempts == 1
    assert row.next_attempt_at is not None and row.secret is not None
    OutboxEmail.objects.filter(pk=row.pk).update(
        created_at=clock.now() - timedelta(minutes=1), next_attempt_at=clock.now()
    )
    assert mail.sweep().sent == 1
    assert last_passcode(mailoutbox, EMAIL) == "246810"


@pytest.mark.django_db(transaction=True)
def test_inline_unexpected_error_is_logged_and_the_step_still_commits(
    no_broker, mailoutbox, monkeypatch, caplog
):
    def broken(outbox_id):
        raise RuntimeError("database went away")

    monkeypatch.setattr(dispatch, "deliver", broken)
    with caplog.at_level(logging.ERROR, logger="hankoflow.services.mail"), transaction.atomic():
        row = queue_login("135790")

    assert OutboxEmail.objects.get(pk=row.pk).status == OutboxEmail.Status.PENDING
    assert "the sweeper will send it" in caplog.text
    assert "135790" not in caplog.text


@pytest.mark.django_db
def test_inline_mode_does_not_publish_even_with_a_broker(
    django_capture_on_commit_callbacks, mailoutbox, publish_forbidden, monkeypatch
):
    monkeypatch.setattr(
        dispatch, "celery_app", lambda: celery_app_with(broker_url="redis://127.0.0.1:1/0")
    )
    with mode("inline"), django_capture_on_commit_callbacks(execute=True):
        queue_login()

    assert len(mailoutbox) == 1 and publish_forbidden == []


# -- celery mode ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_celery_mode_publishes_the_send_task(django_capture_on_commit_callbacks, mailoutbox):
    # The suite's app runs tasks eagerly: the email is sent in this process, as the task would
    # (test_send_after_commit.py: without publishing).
    with django_capture_on_commit_callbacks(execute=True):
        row = queue_login()

    assert len(mailoutbox) == 1
    assert dispatch.SEND_TASK in project_celery_app.tasks
    row.refresh_from_db()
    assert row.status == OutboxEmail.Status.SENT


@pytest.mark.django_db
def test_celery_mode_without_celery_leaves_the_row_for_the_sweeper(
    no_celery, django_capture_on_commit_callbacks, mailoutbox, caplog
):
    with (
        mode("celery"),
        caplog.at_level(logging.WARNING, logger="hankoflow.services.mail"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        row = queue_login()

    assert mailoutbox == []
    assert OutboxEmail.objects.get(pk=row.pk).status == OutboxEmail.Status.PENDING
    assert "Celery is not installed" in caplog.text
