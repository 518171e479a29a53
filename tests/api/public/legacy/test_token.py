"""``POST /token`` (platform.md §3.3.9): a one-time token for a session."""

from __future__ import annotations

import jwt
import pytest
from django.test import Client

from hankoflow.models import AuditLogEntry, Session
from hankoflow.services.thirdparty import tokens
from hankoflow.testing.openapi_public import check


def post(client, value):
    return client.post("/token", {"value": value}, content_type="application/json")


def test_exchanges_a_token_once_for_a_session(legacy, account_factory, db):
    account = account_factory()
    value = tokens.issue(account, None, user_created=False, code_verifier="")
    client = Client()

    response = post(client, value)

    assert check(response, "POST", "/token") == {"user_id": str(account.pk)}
    assert response["X-Session-Lifetime"] == "43200"
    assert "X-Session-Retention" not in response
    claims = jwt.decode(response.cookies["hanko"].value, options={"verify_signature": False})
    assert claims["sub"] == str(account.pk) and "amr" not in claims
    assert Session.objects.filter(account=account).count() == 1
    assert AuditLogEntry.objects.filter(type="token_exchange_succeeded").count() == 1

    replay = post(client, value)
    assert replay.status_code == 404
    assert check(replay, "POST", "/token")["message"] == "token not found"
    assert AuditLogEntry.objects.filter(type="token_exchange_failed").count() == 1


def test_auth_token_header_instead_of_cookie(legacy, account_factory):
    legacy(SESSION={"ENABLE_AUTH_TOKEN_HEADER": True})
    account = account_factory()
    value = tokens.issue(account, None, user_created=False, code_verifier="")

    response = post(Client(), value)

    assert response.status_code == 200
    assert response["X-Auth-Token"]
    assert "hanko" not in response.cookies


def test_an_expired_token_is_refused(legacy, account_factory, clock):
    value = tokens.issue(account_factory(), None, user_created=False, code_verifier="")
    clock.advance(seconds=tokens.TTL + 1)

    assert post(Client(), value).status_code == 404


def test_a_pkce_token_needs_its_verifier_which_this_endpoint_never_has(legacy, account_factory):
    value = tokens.issue(account_factory(), None, user_created=False, code_verifier="v" * 43)

    assert post(Client(), value).status_code == 404


@pytest.mark.parametrize("payload", [{}, {"value": ""}, {"value": 5}, ["x"]])
def test_a_missing_value_is_400(legacy, payload, db):
    response = Client().post("/token", payload, content_type="application/json")

    assert response.status_code == 400


def test_malformed_json_is_400(legacy, db):
    response = Client().post("/token", "{", content_type="application/json")

    assert check(response, "POST", "/token")["code"] == 400


def test_rate_limited_per_client(legacy, settings, db):
    legacy(RATE_LIMITER={"ENABLED": True, "TOKEN_LIMITS": {"TOKENS": 2, "INTERVAL": 60}})
    client = Client()
    for _ in range(2):
        assert post(client, "unknown").status_code == 404

    response = post(client, "unknown")

    assert check(response, "POST", "/token") == {"code": 429, "message": "Too Many Requests"}
    assert int(response["Retry-After"]) > 0


def test_off_by_default(account_factory, db):
    value = tokens.issue(account_factory(), None, user_created=False, code_verifier="")

    response = post(Client(), value)

    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "Not Found"}
