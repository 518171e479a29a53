"""The demo's logging: an unhandled error reaches the console with the request and the flow id,
also with ``DEBUG=0`` (Django's default sends ``django.request`` errors only to ``ADMINS``)."""

from __future__ import annotations

import logging
import uuid

import pytest
from django.conf import settings
from django.test import Client, RequestFactory

FLOW_ID = "7d1f6e0c-3b7e-4a53-9a51-2f0f6f1c9e42"


@pytest.fixture
def request_log(caplog):
    """Records of ``django.request``, which does not propagate to caplog's root handler."""
    logger = logging.getLogger("django.request")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


@pytest.fixture
def crash(monkeypatch):
    """Every flow step raises, as a bug outside the engine would."""

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("hankoflow.http.runner.run", broken)


def error_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "django.request" and r.levelno >= logging.ERROR]


def test_django_request_errors_go_to_the_console_without_debug():
    assert not settings.DEBUG
    logger = logging.getLogger("django.request")
    assert not logger.propagate
    consoles = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
    assert consoles and all(h.level <= logging.ERROR for h in consoles)
    assert logger.getEffectiveLevel() <= logging.ERROR
    assert not any(f.__class__.__name__ == "RequireDebugTrue" for h in consoles for f in h.filters)


@pytest.mark.django_db
def test_an_unhandled_error_is_logged_with_method_path_and_flow_id(request_log, crash):
    response = Client(raise_request_exception=False).post(
        f"/login?action=verify_passcode@{FLOW_ID}", {}, content_type="application/json"
    )
    assert response.status_code == 500
    [record] = error_records(request_log)
    assert record.exc_info is not None and "boom" in str(record.exc_info[1])
    assert (record.method, record.path, record.flow_id) == ("POST", "/login", FLOW_ID)
    handlers = logging.getLogger("django.request").handlers
    [console] = [h for h in handlers if type(h) is logging.StreamHandler]
    line = console.format(record)
    assert f"POST /login flow={FLOW_ID}" in line
    assert "RuntimeError: boom" in line  # the traceback


@pytest.mark.django_db
def test_a_request_without_a_flow_id_logs_a_dash(request_log, crash):
    Client(raise_request_exception=False).post("/login")
    [record] = error_records(request_log)
    assert (record.method, record.path, record.flow_id) == ("POST", "/login", "-")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "action",
    ["verify_passcode@not-a-uuid", "x@\nERROR forged", f"a@{FLOW_ID}\r\nINFO forged"],
)
def test_a_malformed_action_parameter_logs_no_flow_id(request_log, crash, action):
    Client(raise_request_exception=False).post(
        "/login", b"{}", "application/json", QUERY_STRING=f"action={action}"
    )
    [record] = error_records(request_log)
    assert record.flow_id == "-"


def test_control_characters_in_method_and_path_are_escaped():
    from hankoflow.api.request_log import RequestContextFilter

    request = RequestFactory().generic("GET\nX", "/x")
    request.path = "/login\nERROR forged"
    record = logging.LogRecord("django.request", logging.ERROR, "", 0, "m", (), None)
    record.request = request
    assert RequestContextFilter().filter(record)
    assert (record.method, record.path) == ("GET\\nX", "/login\\nERROR forged")


def test_records_without_a_request_get_dashes():
    from hankoflow.api.request_log import RequestContextFilter

    record = logging.LogRecord("django.request", logging.ERROR, "", 0, "m", (), None)
    assert RequestContextFilter().filter(record)
    assert (record.method, record.path, record.flow_id) == ("-", "-", "-")


@pytest.mark.django_db
def test_a_503_is_logged_with_its_flow_id(request_log):
    """Database outages are logged too (as 503s), with the flow they hit."""
    from unittest import mock

    from django.db import connection
    from django.db.utils import OperationalError

    flow_id = str(uuid.uuid4())
    with mock.patch.object(connection, "ensure_connection", side_effect=OperationalError("down")):
        Client().post(f"/login?action=verify_passcode@{flow_id}", b"{}", "application/json")
    [record] = error_records(request_log)
    assert record.status_code == 503 and record.flow_id == flow_id
