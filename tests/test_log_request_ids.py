"""Log lines of a flow step carry its flow id and request id (the audit log's
``meta_http_request_id``), so one flow can be followed across workers."""

from __future__ import annotations

import logging

import pytest

from hankoflow import signals
from hankoflow.models import AuditLogEntry, Flow

NO_WEBAUTHN = {"webauthn_available": False}
logger = logging.getLogger("hankoflow.tests")


@pytest.fixture
def logs_on_failed_login():
    def receiver(**kwargs):
        logger.warning("a login failed")

    signals.login_failed.connect(receiver)
    yield
    signals.login_failed.disconnect(receiver)


def wrong_passcode(flow_client, **headers):
    start = flow_client.start("registration")
    state = flow_client.act(start, "register_client_capabilities", NO_WEBAUTHN)
    state = flow_client.act(state, "register_login_identifier", {"email": "l@example.com"})
    flow_client.act(state, "verify_passcode", {"code": "000000"}, **headers)
    return str(Flow.objects.get().pk)


def step_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "hankoflow.tests"]


def test_a_step_logs_the_flow_id_and_the_given_request_id(
    flow_client, caplog, logs_on_failed_login
):
    with caplog.at_level(logging.INFO, logger="hankoflow"):
        flow_id = wrong_passcode(flow_client, **{"X-Request-ID": "req-42"})
    [record] = step_records(caplog)
    assert (record.flow_id, record.request_id) == (flow_id, "req-42")
    entry = AuditLogEntry.objects.get(type="login_failure")
    assert entry.meta_http_request_id == "req-42"
    [handler] = [h for h in logging.getLogger("hankoflow").handlers if h.filters]
    assert f"flow={flow_id} request=req-42: a login failed" in handler.format(record)


def test_without_a_header_the_generated_id_is_the_audit_logs(
    flow_client, caplog, logs_on_failed_login
):
    with caplog.at_level(logging.INFO, logger="hankoflow"):
        wrong_passcode(flow_client)
    [record] = step_records(caplog)
    entry = AuditLogEntry.objects.get(type="login_failure")
    assert len(record.request_id) == 32 and record.request_id == entry.meta_http_request_id


def test_a_malformed_request_id_is_replaced(flow_client, caplog, logs_on_failed_login):
    with caplog.at_level(logging.INFO, logger="hankoflow"):
        wrong_passcode(flow_client, **{"X-Request-ID": "bad\nINFO forged"})
    [record] = step_records(caplog)
    assert "\n" not in record.request_id and len(record.request_id) == 32


def test_outside_a_step_the_ids_are_dashes(caplog, db):
    with caplog.at_level(logging.INFO, logger="hankoflow"):
        logger.warning("no step")
    [record] = step_records(caplog)
    assert (record.flow_id, record.request_id) == ("-", "-")
