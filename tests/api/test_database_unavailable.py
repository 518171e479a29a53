"""A database outage answers 503 with ``Retry-After``; a bug stays a 500.

Hanko answers 500 ``technical_error`` whenever the database fails. A 503 tells clients and load
balancers to try again; a 500 says the server is broken. The fast tests break the connection of
this test's thread only (``ensure_connection`` raising), so the shared PostgreSQL server and
other test runs are untouched; the slow one points the connection at a closed port.
"""

from __future__ import annotations

import socket
from contextlib import contextmanager
from unittest import mock

import pytest
from django.db import ProgrammingError, connection
from django.db.utils import InterfaceError, OperationalError
from django.test import Client

from hankoflow.services.flow_store import DjangoFlowStore
from hankoflow.testing.client import FlowClient


@contextmanager
def database_down(error: type[Exception] = OperationalError):
    """Every new cursor of this thread's connection fails as if the server were gone."""
    refused = error('connection to server at "127.0.0.1", port 5432 failed: Connection refused')
    with mock.patch.object(connection, "ensure_connection", side_effect=refused):
        yield


def assert_unavailable_flow_answer(response) -> None:
    """The flow API's early-error shape (as for 400/413/415), with status 503."""
    assert response.status_code == 503
    assert response["Retry-After"].isdigit() and int(response["Retry-After"]) > 0
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body == {
        "name": "error",
        "status": 503,
        "csrf_token": "",
        "actions": {},
        "error": body["error"],
        "links": None,
    }
    assert body["error"]["code"] == "technical_error"


@pytest.fixture
def crash_client() -> Client:
    """A client that gets the response Django sends for an unhandled exception."""
    return Client(raise_request_exception=False)


@pytest.mark.django_db
@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_starting_a_flow_while_the_database_is_down_answers_503(error):
    with database_down(error):
        response = Client().post("/login")
    assert_unavailable_flow_answer(response)


@pytest.mark.django_db
def test_an_action_while_the_database_is_down_answers_503():
    state = FlowClient().start("login")
    with database_down():
        response = Client().post(
            state.href("register_client_capabilities"),
            {"input_data": {"webauthn_available": False}, "csrf_token": state.csrf_token},
            content_type="application/json",
        )
    assert_unavailable_flow_answer(response)


@pytest.mark.django_db
def test_a_connection_lost_during_a_step_answers_503():
    """The connection was fine when the step began and the server went away during it."""
    state = FlowClient().start("login")
    lost = OperationalError("server closed the connection unexpectedly")
    with (
        mock.patch.object(DjangoFlowStore, "locked", side_effect=lost),
        mock.patch.object(connection, "is_usable", return_value=False),
    ):
        response = Client().post(
            state.href("register_client_capabilities"),
            {"input_data": {"webauthn_available": False}, "csrf_token": state.csrf_token},
            content_type="application/json",
        )
    assert_unavailable_flow_answer(response)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "error",
    [
        ProgrammingError('relation "hankoflow_flow" does not exist'),
        OperationalError("no such table"),
    ],
)
def test_a_database_error_with_the_database_up_stays_a_500(error):
    """A missing table or bad SQL is our bug, not an outage: no 503, no Retry-After."""
    state = FlowClient().start("login")
    with mock.patch.object(DjangoFlowStore, "locked", side_effect=error):
        response = Client().post(
            state.href("register_client_capabilities"),
            {"input_data": {"webauthn_available": False}, "csrf_token": state.csrf_token},
            content_type="application/json",
        )
    assert response.status_code == 500
    assert "Retry-After" not in response
    assert response.json()["error"]["code"] == "technical_error"


@pytest.mark.django_db
def test_session_endpoints_answer_503_in_hankos_error_shape():
    with database_down():
        response = Client().get("/.well-known/jwks.json")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert response.json() == {"code": 503, "message": "Service Unavailable"}


@pytest.mark.django_db
def test_the_html_flow_page_answers_503_with_retry_after():
    with database_down():
        response = Client().get("/?flow=login")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert b"technical_error" in response.content


@pytest.mark.django_db
def test_other_views_answer_503_through_the_json_500_handler(crash_client):
    """``/admin/`` reads Django's session from the database: the handler500 answer."""
    crash_client.cookies["sessionid"] = "x" * 32
    with database_down():
        response = crash_client.get("/admin/")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert response.json() == {"code": 503, "message": "Service Unavailable"}


@pytest.mark.django_db
def test_an_unhandled_bug_still_answers_500(crash_client, monkeypatch):
    def broken(*args, **kwargs):
        raise ProgrammingError("syntax error at or near")

    monkeypatch.setattr("hankoflow.api.public.wellknown.ConfigView.get", broken)
    response = crash_client.get("/.well-known/config")
    assert response.status_code == 500
    assert "Retry-After" not in response


# --- a real refused connection (PostgreSQL) -----------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_refused_postgresql_connection_answers_503():
    """This thread's connection is pointed at a port nobody listens on, then put back."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connecting is refused
    original = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed.getsockname()[1]))
    try:
        start = Client().post("/login")
        jwks = Client().get("/.well-known/jwks.json")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)
        closed.close()
    assert_unavailable_flow_answer(start)
    assert jwks.status_code == 503 and int(jwks["Retry-After"]) > 0
    assert Client().post("/login").status_code == 200  # back once the database is
