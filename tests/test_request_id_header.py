"""``X-Request-ID`` on the answers of hankoflow's views, the id the audit log stores and the log
lines print; session endpoints and Celery tasks bind a request id for their log lines."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from hankoflow import signals, tasks
from hankoflow.http import sessions as http_sessions
from hankoflow.models import AuditLogEntry

NO_WEBAUTHN = {"webauthn_available": False}
logger = logging.getLogger("hankoflow.tests")
HEADER = "X-Request-ID"


def lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "hankoflow.tests"]


@pytest.fixture
def logs_session_lookups(monkeypatch):
    """A log line inside each session endpoint, where the endpoint reads the session."""
    original = http_sessions.session_for_request

    def logged(*args, **kwargs):
        logger.warning("reading the session")
        return original(*args, **kwargs)

    monkeypatch.setattr(http_sessions, "session_for_request", logged)


def test_a_flow_step_answers_with_the_given_request_id(flow_client):
    start = flow_client.start("registration", **{HEADER: "req-7"})
    assert start.headers[HEADER] == "req-7"


def test_the_generated_id_is_the_audit_logs_and_the_log_lines(flow_client, caplog):
    def receiver(**kwargs):
        logger.warning("a login failed")

    signals.login_failed.connect(receiver)
    try:
        state = flow_client.start("registration")
        state = flow_client.act(state, "register_client_capabilities", NO_WEBAUTHN)
        state = flow_client.act(state, "register_login_identifier", {"email": "r@example.com"})
        with caplog.at_level(logging.INFO, logger="hankoflow"):
            failed = flow_client.act(state, "verify_passcode", {"code": "000000"})
    finally:
        signals.login_failed.disconnect(receiver)
    request_id = failed.headers[HEADER]
    assert len(request_id) == 32
    assert AuditLogEntry.objects.get(type="login_failure").meta_http_request_id == request_id
    assert [r.request_id for r in lines(caplog)] == [request_id]
    assert state.headers[HEADER] != request_id  # one id per request


def test_a_malformed_id_is_not_echoed(flow_client):
    start = flow_client.start("login", **{HEADER: "x" * 300})
    assert len(start.headers[HEADER]) == 32


def test_the_html_flow_page_answers_with_the_request_id(client, db):
    response = client.get("/", {"flow": "login"}, headers={HEADER: "page-1"})
    assert response.status_code == 200 and response[HEADER] == "page-1"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/sessions/validate"),
        ("post", "/sessions/validate"),
        ("get", "/me"),
        ("get", "/users/{id}"),
        ("post", "/logout"),
    ],
)
def test_session_endpoints_bind_and_send_the_request_id(
    issued, account, caplog, logs_session_lookups, method, path
):
    client = Client(headers={"Authorization": f"Bearer {issued.token}", HEADER: "sess-1"})
    kwargs = {}
    if path == "/sessions/validate" and method == "post":
        kwargs = {"data": {"session_token": issued.token}, "content_type": "application/json"}
    with caplog.at_level(logging.INFO, logger="hankoflow"):
        response = getattr(client, method)(path.replace("{id}", str(account.pk)), **kwargs)
    assert response.status_code in (200, 204)
    assert response[HEADER] == "sess-1"
    if not (method == "post" and path == "/sessions/validate"):  # reads the body, not a cookie
        assert {r.request_id for r in lines(caplog)} == {"sess-1"}


def test_logout_answers_with_the_id_of_its_audit_entry(issued):
    response = Client(headers={"Authorization": f"Bearer {issued.token}"}).post("/logout")
    assert response.status_code == 204
    entries = AuditLogEntry.objects.exclude(meta_http_request_id="")
    assert {e.meta_http_request_id for e in entries} == {response[HEADER]}


def test_other_public_endpoints_send_it_too(client, db):
    assert len(client.get("/.well-known/jwks.json")[HEADER]) == 32
    assert len(client.get("/.well-known/config")[HEADER]) == 32


@pytest.fixture
def logs_in_cleanup(monkeypatch):
    from hankoflow.services import cleanup

    def run():
        logger.warning("cleaning up")
        return {}

    monkeypatch.setattr(cleanup, "run", run)


def test_a_task_logs_with_its_task_id_as_request_id(caplog, logs_in_cleanup):
    with caplog.at_level(logging.INFO, logger="hankoflow"):
        tasks.cleanup.apply(task_id="8a4a6b0e-task")
    assert [r.request_id for r in lines(caplog)] == ["8a4a6b0e-task"]


def test_a_task_run_without_an_id_gets_a_fresh_one(caplog, logs_in_cleanup):
    with caplog.at_level(logging.INFO, logger="hankoflow"):
        tasks.cleanup()
        tasks.cleanup()
    first, second = (r.request_id for r in lines(caplog))
    assert len(first) == 32 and first != second != "-"


def test_an_eager_task_inside_a_request_keeps_the_requests_id(caplog, logs_in_cleanup):
    from hankoflow.http import log_context

    with caplog.at_level(logging.INFO, logger="hankoflow"), log_context.bound("req-9", None):
        tasks.cleanup.apply(task_id="t-9")
    assert [r.request_id for r in lines(caplog)] == ["req-9"]
