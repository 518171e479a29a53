"""On PostgreSQL a sign-in's login_success audit entry is inserted by the statement that stores
the session (hankoflow/services/sessions/issuing.py), not by one of its own; the entry is the
same."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hankoflow.models import AuditLogEntry
from hankoflow.testing.client import FlowClient

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]

PASSWORD = "a long enough password"


def test_password_login_writes_session_and_audit_entry_in_one_statement(
    flow_client: FlowClient, account_factory, clock
):
    account = account_factory("audit@example.com", password=PASSWORD)
    state = flow_client.act(
        flow_client.start("login"), "register_client_capabilities", {"webauthn_available": False}
    )
    state = flow_client.act(state, "continue_with_login_identifier", {"email": "audit@example.com"})
    state = flow_client.act(state, "continue_to_password_login")
    with CaptureQueriesContext(connection) as captured:
        response = flow_client.act(state, "password_login", {"password": PASSWORD})
    assert response.state == "success"
    table = AuditLogEntry._meta.db_table
    writes = [q["sql"] for q in captured.captured_queries if f'INSERT INTO "{table}"' in q["sql"]]
    assert len(writes) == 1 and writes[0].startswith("WITH"), writes
    entry = AuditLogEntry.objects.get(type="login_success")
    assert entry.actor_user_id == account.pk
    assert entry.actor_email == "a*****@example.com"
    assert entry.details["login_method"] == "password"
    assert entry.details["flow_id"]
    assert entry.meta_http_request_id
