"""What the login steps cost in SQL statements (issue 16): ``password_login`` and
``verify_passcode`` of a user who signed in before, the steady state of a busy server.

Each budget is the count measured when it was set; a step that needs more fails here, so a gain
cannot silently regress. Transaction control (``SAVEPOINT``/``RELEASE``) is counted apart: the
flow store's block is the only one a step opens. The SQL of every statement is in the failure
message.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hankoflow.services import jwks
from hankoflow.testing.client import FlowClient, FlowResponse

PASSWORD = "a long enough password"
NO_WEBAUTHN = {"webauthn_available": False}
CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")

# Measured here on SQLite and PostgreSQL alike (the flow store's SELECT ... FOR UPDATE and
# UPDATE included): password_login 15 and verify_passcode 20 before issue 16's trims.
PASSWORD_LOGIN_STATEMENTS = 10  # PostgreSQL: 7 (last_login in the session statement)
VERIFY_PASSCODE_STATEMENTS = 12  # PostgreSQL: 9


@pytest.fixture
def jane(account_factory, clock):
    clock.stop()  # the budget's refresh of a known network is by time: keep it still
    jwks.signing_key()  # a running server has its key; the first sign-in reads and keeps it
    return account_factory("jane@example.com", password=PASSWORD)


def chooser(flow_client: FlowClient) -> FlowResponse:
    state = flow_client.act(flow_client.start("login"), "register_client_capabilities", NO_WEBAUTHN)
    return flow_client.act(state, "continue_with_login_identifier", {"email": "jane@example.com"})


def measured(run) -> tuple[FlowResponse, list[str], list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = run()
    sql = [query["sql"] for query in captured.captured_queries]
    statements = [s for s in sql if not s.startswith(CONTROL)]
    control = [s for s in sql if s.startswith("SAVEPOINT")]
    return response, statements, control


def password_login(flow_client: FlowClient):
    state = flow_client.act(chooser(flow_client), "continue_to_password_login")
    return measured(lambda: flow_client.act(state, "password_login", {"password": PASSWORD}))


def passcode_login(flow_client: FlowClient, passcode_outbox):
    state = flow_client.act(chooser(flow_client), "continue_to_passcode_confirmation")
    code = passcode_outbox("jane@example.com")
    return measured(lambda: flow_client.act(state, "verify_passcode", {"code": code}))


def test_password_login_statements(flow_client, jane):
    password_login(flow_client)  # the first sign-in ever creates the attempt budget's rows
    flow_client.client.cookies.clear()
    response, statements, savepoints = password_login(flow_client)
    assert response.state == "success"
    assert len(statements) <= PASSWORD_LOGIN_STATEMENTS, "\n".join(statements)
    assert len(savepoints) <= 1, savepoints  # the flow store's only
    assert not any("hankoflow_signing_key" in s for s in statements)  # remembered per process
    budget = [s for s in statements if "hankoflow_attempt_budget" in s]
    # Clean: read, lock, no write (PostgreSQL's read is a WITH that creates rows only for a
    # subject that has none).
    assert [s.split(None, 1)[0] for s in budget] in (["SELECT", "SELECT"], ["WITH", "SELECT"])


def test_verify_passcode_statements(flow_client, jane, passcode_outbox):
    passcode_login(flow_client, passcode_outbox)
    flow_client.client.cookies.clear()
    response, statements, savepoints = passcode_login(flow_client, passcode_outbox)
    assert response.state == "success"
    assert len(statements) <= VERIFY_PASSCODE_STATEMENTS, "\n".join(statements)
    assert len(savepoints) <= 1, savepoints
    passcode = [s for s in statements if "hankoflow_passcode" in s]
    assert [s.split(None, 1)[0] for s in passcode] == ["UPDATE"]  # count, consume, lock: one
    assert not any("hankoflow_signing_key" in s for s in statements)
