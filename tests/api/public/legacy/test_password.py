"""``POST /password/login`` and ``PUT /password`` (platform.md §3.3.3-3.3.4)."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from hankoflow.models import AuditLogEntry, Session, WebhookDelivery
from hankoflow.testing.openapi_public import check
from tests.api.public.legacy.conftest import HOOKS

PASSWORD = "correct horse battery"  # noqa: S105 (a test password)


def login(client, user_id, password=PASSWORD):
    body = {"user_id": str(user_id), "password": password}
    return client.post("/password/login", body, content_type="application/json")


def put(client, user_id, password):
    body = {"user_id": str(user_id), "password": password}
    return client.put("/password", body, content_type="application/json")


def test_login_signs_in(legacy, account_factory):
    legacy(WEBHOOKS=HOOKS)
    account = account_factory(password=PASSWORD)

    response = login(Client(), account.pk)

    assert check(response, "POST", "/password/login") is None
    assert response.content == b"null"
    assert response["X-Session-Lifetime"] == "43200"
    assert response.cookies["hanko"].value
    assert Session.objects.filter(account=account).count() == 1
    assert AuditLogEntry.objects.filter(type="password_login_succeeded").count() == 1
    events = set(WebhookDelivery.objects.values_list("event", flat=True))
    assert {"user.login", "session.create.flow"} <= events


@pytest.mark.parametrize("case", ["wrong", "unknown", "no_password"])
def test_login_refusals_are_401(legacy, account_factory, case):
    account = account_factory(password=None if case == "no_password" else PASSWORD)
    user_id = uuid.uuid4() if case == "unknown" else account.pk
    password = "wrong password" if case == "wrong" else PASSWORD

    response = login(Client(), user_id, password)

    assert check(response, "POST", "/password/login") == {"code": 401, "message": "Unauthorized"}
    assert "hanko" not in response.cookies
    assert not Session.objects.exists()
    assert AuditLogEntry.objects.filter(type="password_login_failed").count() == 1


@pytest.mark.parametrize(
    "payload", [{}, {"user_id": "not-a-uuid", "password": PASSWORD}, {"user_id": 1}]
)
def test_login_bad_input_is_400(legacy, payload, db):
    response = Client().post("/password/login", payload, content_type="application/json")

    assert check(response, "POST", "/password/login")["code"] == 400


def test_login_password_over_72_bytes_is_400(legacy, account_factory):
    account = account_factory(password=PASSWORD)

    assert login(Client(), account.pk, "ä" * 37).status_code == 400


def test_login_rate_limited(legacy, db):
    legacy(RATE_LIMITER={"ENABLED": True, "PASSWORD_LIMITS": {"TOKENS": 2, "INTERVAL": 60}})
    user_id = uuid.uuid4()
    client = Client()
    for _ in range(2):
        assert login(client, user_id, "guess").status_code == 401

    response = login(client, user_id, "guess")

    assert response.status_code == 429
    assert response.json() == {"code": 429, "message": "Too Many Requests"}
    assert int(response["Retry-After"]) > 0


def test_login_attempt_budget_is_the_flows(legacy, account_factory):
    """The per-account budget of ``verify_login`` applies, whatever the IP rate limit says."""
    legacy(RATE_LIMITER={"ENABLED": False})
    account = account_factory(password=PASSWORD)
    client = Client()
    statuses = [login(client, account.pk, "guess").status_code for _ in range(30)]

    assert statuses[0] == 401
    assert 429 in statuses
    assert login(client, account.pk).status_code == 429  # even the right password waits


def test_password_routes_are_absent_with_mfa_as_in_hanko(legacy, account_factory):
    legacy(MFA={"ENABLED": True})
    account = account_factory(password=PASSWORD)

    assert login(Client(), account.pk).status_code == 404


def test_password_routes_are_absent_when_passwords_are_off(legacy, account_factory):
    legacy(PASSWORD={"ENABLED": False})
    account = account_factory(password=PASSWORD)

    assert login(Client(), account.pk).status_code == 404


def test_put_creates_then_updates(legacy, signed_in_client, account_factory):
    client = signed_in_client(account_factory(password=None))
    account = client.account

    created = put(client, account.pk, "a new password 1")
    assert created.status_code == 201 and created.content == b"null"
    check(created, "PUT", "/password")
    updated = put(client, account.pk, "another password 2")
    assert updated.status_code == 200
    check(updated, "PUT", "/password")

    assert login(Client(), account.pk, "another password 2").status_code == 200
    assert AuditLogEntry.objects.filter(type="password_set_succeeded").count() == 2


def test_put_ends_the_other_sessions(legacy, signed_in_client, account_factory):
    account = account_factory(password=PASSWORD)
    client, other = signed_in_client(account), signed_in_client(account)

    assert put(client, account.pk, "a new password 1").status_code == 200

    assert client.get("/me").status_code == 200
    assert other.get("/me").status_code == 401


def test_put_for_another_user_is_403(legacy, signed_in_client, account_factory):
    stranger = account_factory(password=PASSWORD)

    response = put(signed_in_client(), stranger.pk, "a new password 1")

    assert check(response, "PUT", "/password")["code"] == 403
    assert login(Client(), stranger.pk).status_code == 200


def test_put_too_short_is_400(legacy, signed_in_client):
    client = signed_in_client()

    response = put(client, client.account.pk, "short")

    body = check(response, "PUT", "/password")
    assert body["message"] == "password must be at least 8 characters long"


def test_put_too_long_is_400(legacy, signed_in_client):
    client = signed_in_client()

    assert put(client, client.account.pk, "ä" * 37).status_code == 400


def test_put_without_session_is_401(legacy, db):
    assert put(Client(), uuid.uuid4(), "a new password 1").status_code == 401


def test_put_after_the_reauthentication_window_is_403(legacy, signed_in_client, clock):
    client = signed_in_client()
    clock.advance(seconds=601)

    response = put(client, client.account.pk, "a new password 1")

    assert check(response, "PUT", "/password")["code"] == 403
    assert "re-authentication required" in response.json()["message"]


def test_put_change_notifies_and_emits(legacy, signed_in_client, account_factory):
    legacy(WEBHOOKS=HOOKS)
    client = signed_in_client(account_factory("jane@example.com", password=PASSWORD))

    assert put(client, client.account.pk, "a new password 1").status_code == 200

    assert WebhookDelivery.objects.filter(event="user.update.password.update").count() == 1
    notice = AuditLogEntry.objects.get(type="security_notification_sent")
    assert notice.details["template"] == "password_update"


def test_put_with_the_cookie_from_a_foreign_origin_is_403(legacy, signed_in_client):
    client = signed_in_client()
    body = {"user_id": str(client.account.pk), "password": "a new password 1"}

    response = client.put(
        "/password", body, content_type="application/json", HTTP_ORIGIN="https://evil.example"
    )

    assert response.status_code == 403
    assert response.json() == {"code": 403, "message": "Forbidden"}
    assert AuditLogEntry.objects.filter(type="password_set_succeeded").count() == 0


def test_put_with_a_bearer_token_from_any_origin(legacy, signed_in_client):
    signed_in = signed_in_client()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {signed_in.session_token}")
    body = {"user_id": str(signed_in.account.pk), "password": "a new password 1"}

    response = client.put(
        "/password", body, content_type="application/json", HTTP_ORIGIN="https://evil.example"
    )

    assert response.status_code == 201  # created: the account had none
