"""``/sessions/validate``, ``/me``, ``/users/{id}``, ``/logout`` (platform.md §2.6–2.8, §3.3.10).

Every response is checked against ``openapi-public.yaml`` (with hankoflow's corrections) by
``hankoflow.testing.openapi_public.check``. Each endpoint runs for a cookie client and a
Bearer-token client, as Hanko's SDK can be either.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from http.cookies import SimpleCookie

import pytest
from django.test import Client, override_settings

from hankoflow import clock
from hankoflow.models import AuditLogEntry, Session
from hankoflow.services import accounts, profile, sessions
from hankoflow.testing.openapi_public import check

pytestmark = pytest.mark.django_db

ALLOWED_ORIGIN = "http://localhost:8000"  # the demo's CORS origin


@pytest.fixture(params=["cookie", "bearer"])
def session_client(request, issued):
    """A client carrying the session the way one kind of SDK set-up does."""
    client = Client()
    if request.param == "cookie":
        client.cookies["hanko"] = issued.token
        client.auth_headers = {}
    else:
        client.auth_headers = {"HTTP_AUTHORIZATION": f"Bearer {issued.token}"}
    client.kind = request.param
    return client


# --- /sessions/validate -------------------------------------------------------------------------


def test_get_validate_without_a_session(client):
    body = check(client.get("/sessions/validate"), "GET", "/sessions/validate")
    assert body == {"is_valid": False}


def test_get_validate_with_a_session(session_client, issued, account):
    response = session_client.get("/sessions/validate", **session_client.auth_headers)
    body = check(response, "GET", "/sessions/validate")
    assert response["Cache-Control"] == "no-store"
    assert body["is_valid"] is True
    assert body["claims"] == issued.claims
    assert body["user_id"] == str(account.pk) == body["claims"]["subject"]
    assert body["expiration_time"] == issued.claims["expiration"]
    assert "idle_expires_at" not in body


def test_get_validate_is_passive(session_client, issued):
    past = clock.now() - timedelta(minutes=5)
    Session.objects.filter(pk=issued.session_id).update(last_used=past)
    session_client.get("/sessions/validate", **session_client.auth_headers)
    assert Session.objects.get(pk=issued.session_id).last_used == past


def test_get_validate_reports_the_idle_expiry(session_client, issued):
    with override_settings(HANKOFLOW={"SESSION": {"IDLE_TIMEOUT": 900}}):
        response = session_client.get("/sessions/validate", **session_client.auth_headers)
    body = check(response, "GET", "/sessions/validate")
    row = Session.objects.get(pk=issued.session_id)
    assert body["idle_expires_at"] == accounts.rfc3339(row.last_used + timedelta(seconds=900))


def test_get_validate_after_idle_expiry(session_client, issued):
    Session.objects.filter(pk=issued.session_id).update(
        last_used=clock.now() - timedelta(seconds=901)
    )
    with override_settings(HANKOFLOW={"SESSION": {"IDLE_TIMEOUT": 900}}):
        response = session_client.get("/sessions/validate", **session_client.auth_headers)
    assert check(response, "GET", "/sessions/validate") == {"is_valid": False}
    assert not Session.objects.filter(pk=issued.session_id).exists()


def test_post_validate(client, issued):
    past = clock.now() - timedelta(minutes=5)
    Session.objects.filter(pk=issued.session_id).update(last_used=past)
    response = client.post(
        "/sessions/validate", {"session_token": issued.token}, content_type="application/json"
    )
    body = check(response, "POST", "/sessions/validate")
    assert body["is_valid"] is True and body["claims"]["session_id"] == issued.session_id
    assert Session.objects.get(pk=issued.session_id).last_used > past  # extends the idle window


def test_post_validate_with_a_form_body(client, issued):
    response = client.post("/sessions/validate", {"session_token": issued.token})
    assert check(response, "POST", "/sessions/validate")["is_valid"] is True


def test_post_validate_ignores_the_cookie(client, issued):
    client.cookies["hanko"] = issued.token
    response = client.post(
        "/sessions/validate", {"session_token": "nope"}, content_type="application/json"
    )
    assert check(response, "POST", "/sessions/validate") == {"is_valid": False}


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        ("{}", "application/json", 400, "session_token is a required field"),
        ("", "application/json", 400, "session_token is a required field"),
        ('{"session_token": ""}', "application/json", 400, "session_token is a required field"),
        ('{"session_token": 42}', "application/json", 400, "Bad Request"),
        ("[]", "application/json", 400, "Bad Request"),
        ("{not json", "application/json", 400, "Bad Request"),
        ("session_token=x", "text/plain", 415, "Unsupported Media Type"),
    ],
)
def test_post_validate_bad_bodies(client, body, content_type, status, message):
    response = client.post("/sessions/validate", body, content_type=content_type)
    assert check(response, "POST", "/sessions/validate") == {"code": status, "message": message}


def test_post_validate_body_too_large(client):
    body = '{"session_token": "' + "a" * 70_000 + '"}'
    response = client.post("/sessions/validate", body, content_type="application/json")
    assert check(response, "POST", "/sessions/validate")["code"] == 413


# --- /me ----------------------------------------------------------------------------------------


def test_me_without_a_session(client):
    response = client.get("/me")
    assert check(response, "GET", "/me") == {"code": 401, "message": "Unauthorized"}


def test_me(session_client, account):
    response = session_client.get("/me", **session_client.auth_headers)
    body = check(response, "GET", "/me")
    assert response["Cache-Control"] == "no-store"
    assert body == profile.profile_data(account)
    assert body["emails"][0]["address"] == "alice@example.com"


def test_me_with_a_username(other_account):
    issued = sessions.issue(other_account, amr=[], env=None, remember_me=None)
    response = Client().get("/me", HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    assert check(response, "GET", "/me")["username"]["username"] == "bob"


def test_me_after_revocation(session_client, issued):
    sessions.revoke(issued.session_id)
    response = session_client.get("/me", **session_client.auth_headers)
    assert check(response, "GET", "/me")["code"] == 401
    if session_client.kind == "cookie":  # the dead HttpOnly cookie is expired for the client
        assert response.cookies["hanko"]["max-age"] == 0


def test_me_updates_last_used(session_client, issued):
    past = clock.now() - timedelta(minutes=5)
    Session.objects.filter(pk=issued.session_id).update(last_used=past)
    session_client.get("/me", **session_client.auth_headers)
    assert Session.objects.get(pk=issued.session_id).last_used > past


# --- /users/{id} --------------------------------------------------------------------------------


def test_own_user(session_client, account):
    path = f"/users/{account.pk}"
    body = check(session_client.get(path, **session_client.auth_headers), "GET", path)
    assert body["id"] == body["user_id"] == str(account.pk)
    assert body["email"] == "alice@example.com"
    assert body["webauthn_credentials"] == []
    assert "username" not in body


def test_own_user_username_is_a_string(other_account):
    issued = sessions.issue(other_account, amr=[], env=None, remember_me=None)
    path = f"/users/{other_account.pk}"
    body = check(Client().get(path, HTTP_AUTHORIZATION=f"Bearer {issued.token}"), "GET", path)
    assert body["username"] == "bob"


def test_another_user_is_forbidden(session_client, other_account):
    for user_id in (other_account.pk, uuid.uuid4()):
        path = f"/users/{user_id}"
        response = session_client.get(path, **session_client.auth_headers)
        assert check(response, "GET", path) == {"code": 403, "message": "Forbidden"}


def test_malformed_user_id(session_client):
    path = "/users/not-a-uuid"
    response = session_client.get(path, **session_client.auth_headers)
    assert check(response, "GET", path)["code"] == 400


def test_user_without_a_session(client, account):
    path = f"/users/{account.pk}"
    assert check(client.get(path), "GET", path)["code"] == 401


# --- /logout ------------------------------------------------------------------------------------


def test_logout(session_client, issued, account):
    response = session_client.post("/logout", **session_client.auth_headers)
    assert check(response, "POST", "/logout") is None
    assert response.status_code == 204
    morsel = SimpleCookie(response.cookies["hanko"].OutputString())["hanko"]
    assert morsel.value == "" and morsel["max-age"] == "0"
    assert morsel["path"] == "/" and morsel["httponly"] and morsel["secure"]
    assert morsel["samesite"] == "Strict"
    assert not Session.objects.filter(pk=issued.session_id).exists()
    entry = AuditLogEntry.objects.get(type="user_logged_out")
    assert entry.actor_user_id == account.pk
    # the token is dead at once
    again = session_client.get("/me", **session_client.auth_headers)
    assert again.status_code == 401


def test_logout_without_a_session(client):
    response = client.post("/logout")
    assert check(response, "POST", "/logout") == {"code": 401, "message": "Unauthorized"}
    assert not AuditLogEntry.objects.exists()


def test_logout_keeps_other_sessions(account, issued):
    other = sessions.issue(account, amr=[], env=None, remember_me=None)
    Client().post("/logout", HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    assert sessions.validate(other.token) is not None


def test_logout_with_a_cookie_from_a_foreign_origin_is_refused(client, issued):
    client.cookies["hanko"] = issued.token
    response = client.post("/logout", headers={"Origin": "https://evil.example"})
    assert check(response, "POST", "/logout") == {"code": 403, "message": "Forbidden"}
    assert Session.objects.filter(pk=issued.session_id).exists()


@pytest.mark.parametrize("origin", [ALLOWED_ORIGIN, "http://testserver"])
def test_logout_with_a_cookie_from_an_allowed_or_the_same_origin(client, issued, origin):
    client.cookies["hanko"] = issued.token
    response = client.post("/logout", headers={"Origin": origin})
    assert response.status_code == 204
    if origin == ALLOWED_ORIGIN:
        assert response["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
        assert response["Access-Control-Allow-Credentials"] == "true"


def test_logout_with_a_bearer_token_from_any_origin(client, issued):
    response = client.post(
        "/logout",
        HTTP_AUTHORIZATION=f"Bearer {issued.token}",
        headers={"Origin": "https://other-frontend.example"},
    )
    assert response.status_code == 204


def test_preflight_for_the_session_endpoints(client):
    for path in ("/me", "/logout", "/sessions/validate"):
        response = client.options(
            path,
            headers={
                "Origin": ALLOWED_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,x-language",
            },
        )
        assert response.status_code == 204
        assert response["Access-Control-Allow-Headers"] == "authorization,x-language"


def test_wrong_methods(client):
    assert client.post("/me").json() == {"code": 405, "message": "Method Not Allowed"}
    assert client.get("/logout").status_code == 405
