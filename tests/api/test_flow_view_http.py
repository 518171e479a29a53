"""The HTTP envelope of the flow endpoints (``POST /login`` ...), pinned as the DRF view sent it.

``FlowView`` is a plain Django view (a login is five requests, and DRF's wrapping cost more than a
light step's Python); these keep its answers what they were: ``Allow`` and ``Vary: Accept`` on
every answer, ``X-Request-ID``, Hanko's ``{"code", "message"}`` body for methods other than POST,
an empty 204 for a plain ``OPTIONS``, no Django CSRF check (the flow's own token protects it), the
request facts read from the headers.
"""

from __future__ import annotations

import json
from unittest import mock

import pytest
from django.core.exceptions import RequestDataTooBig
from django.db.utils import OperationalError
from django.test import Client

from hankoflow.http import request as http_request

pytestmark = pytest.mark.django_db


def start(client: Client, **headers: str) -> dict:
    response = client.post("/login", headers=headers)
    assert response.status_code == 200
    return response.json()


def test_every_answer_carries_allow_vary_and_the_request_id(client):
    response = client.post("/login", headers={"X-Request-ID": "req-42"})
    assert response["Allow"] == "POST, OPTIONS"
    assert response["Vary"] == "Accept, origin"
    assert response["X-Request-ID"] == "req-42"
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Type"] == "application/json"


def test_an_early_error_has_the_same_envelope(client):
    response = client.post("/login?action=nope", "{}", content_type="application/json")
    assert response.status_code == 403
    assert response["Allow"] == "POST, OPTIONS"
    assert response["Vary"] == "Accept, origin"
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_other_methods_get_hankos_405_body(client, method):
    response = getattr(client, method)("/registration")
    assert response.status_code == 405
    assert response.content == b'{"code": 405, "message": "Method Not Allowed"}'
    assert response["Content-Type"] == "application/json"
    assert response["Allow"] == "POST, OPTIONS"
    assert "X-Request-ID" in response


def test_head_is_not_allowed_either(client):
    response = client.head("/login")
    assert response.status_code == 405
    assert response["Allow"] == "POST, OPTIONS"


def test_a_plain_options_gets_an_empty_204(client):
    response = client.options("/profile")
    assert response.status_code == 204
    assert response.content == b""
    assert "Content-Type" not in response
    assert response["Allow"] == "POST, OPTIONS"
    assert response["Vary"] == "Accept, origin"


def test_django_csrf_does_not_apply():
    client = Client(enforce_csrf_checks=True)
    state = start(client)
    href = state["actions"]["register_client_capabilities"]["href"]
    body = {"input_data": {"webauthn_available": False}, "csrf_token": state["csrf_token"]}
    response = client.post(href, json.dumps(body), content_type="application/json")
    assert response.status_code == 200
    assert response.json()["name"] == "login_init"


def test_an_outage_raised_in_the_view_answers_503_with_retry_after(client):
    with (
        mock.patch("hankoflow.http.runner.run", side_effect=OperationalError("gone")),
        mock.patch("hankoflow.http.availability.database_reachable", return_value=False),
    ):
        response = client.post("/login")
    assert response.status_code == 503
    assert response.json() == {"code": 503, "message": "Service Unavailable"}
    assert response["Retry-After"] == "5"
    assert response["Allow"] == "POST, OPTIONS"
    assert "X-Request-ID" in response


def test_a_body_over_djangos_limit_answers_json_413(client):
    with mock.patch(
        "hankoflow.api.public.flows.read_action_body", side_effect=RequestDataTooBig("big")
    ):
        response = client.post("/login?action=x", "{}", content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"code": 413, "message": "Request Entity Too Large"}


def test_a_bug_still_propagates_as_a_500(client):
    client.raise_request_exception = False
    with mock.patch("hankoflow.http.runner.run", side_effect=ValueError("bug")):
        response = client.post("/login")
    assert response.status_code == 500
    assert "X-Request-ID" not in response


def test_the_request_facts_come_from_the_headers(client):
    seen = []
    original = http_request.request_env

    def spy(request, **kwargs):
        env = original(request, **kwargs)
        seen.append(env)
        return env

    with mock.patch("hankoflow.http.runner.request_env", spy):
        start(client, X_Language="de-CH", User_Agent="Browser/1.0")
        start(client, X_Language="de\n", User_Agent="Bad\x00Agent" + "x" * 600)
    assert (seen[0].language, seen[0].user_agent, seen[0].ip) == (
        "de-CH",
        "Browser/1.0",
        "127.0.0.1",
    )
    assert seen[1].language == ""
    assert seen[1].user_agent == ("BadAgent" + "x" * 600)[:512]
