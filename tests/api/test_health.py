"""``/health/ready`` asks the Celery broker only when emails go through Celery
(``EMAIL_DELIVERY.MODE``; platform.md §10.1)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from django.test import override_settings

from hankoflow.services.mail import dispatch
from tests.celery_worker import celery_publishing_to


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def no_broker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The issue's host: Celery's app has no broker and runs nothing eagerly, and Django's
    settings do not say otherwise."""
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    app = dispatch.celery_app()
    conf = app.conf
    saved = conf.get("broker_url"), conf.task_always_eager
    conf.broker_url, conf.task_always_eager = None, False
    try:
        with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
            yield
    finally:
        conf.broker_url, conf.task_always_eager = saved


def ready(client) -> tuple[int, dict]:
    response = client.get("/health/ready")
    return response.status_code, response.json()


@pytest.mark.django_db
def test_ready_without_a_broker_when_emails_are_sent_inline(client, no_broker):
    assert dispatch.delivery_mode(dispatch.celery_app()) == "inline"
    assert ready(client) == (200, {"ready": True})


@pytest.mark.django_db
def test_ready_without_celery(client, monkeypatch):
    monkeypatch.setattr(dispatch, "celery_app", lambda: None)
    assert ready(client) == (200, {"ready": True})


@pytest.mark.django_db
def test_an_unreachable_broker_fails_unless_emails_are_sent_inline(client, closed_port):
    with celery_publishing_to(f"redis://127.0.0.1:{closed_port}/0"):
        assert ready(client) == (503, {"ready": False, "failed": ["broker"]})
        with override_settings(HANKOFLOW={"EMAIL_DELIVERY": {"MODE": "inline"}}):
            assert ready(client) == (200, {"ready": True})


@pytest.mark.django_db
def test_forced_celery_mode_without_celery_is_not_ready(client, monkeypatch):
    monkeypatch.setattr(dispatch, "celery_app", lambda: None)
    with override_settings(HANKOFLOW={"EMAIL_DELIVERY": {"MODE": "celery"}}):
        assert ready(client) == (503, {"ready": False, "failed": ["broker"]})


@pytest.mark.django_db
def test_eager_tasks_need_no_broker(client):
    assert dispatch.celery_app().conf.task_always_eager  # tests/settings.py
    with override_settings(HANKOFLOW={"EMAIL_DELIVERY": {"MODE": "celery"}}):
        assert ready(client) == (200, {"ready": True})
