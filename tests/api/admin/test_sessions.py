"""Admin API sessions (platform.md §4.3.8): a user's active sessions, ending one, and issuing
one with ``POST /sessions``."""

from __future__ import annotations

import uuid
from datetime import timedelta

import jwt
import pytest
from django.test import Client, override_settings

from hankoflow import clock, signals
from hankoflow.models import AuditLogEntry, Session, WebhookDelivery
from hankoflow.services import api_keys, sessions

pytestmark = pytest.mark.django_db

UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Firefox/120.0"


def sessions_url(account_id, suffix: str = "") -> str:
    return f"/admin-api/users/{account_id}/sessions{suffix}"


def create(client, body):
    return client.post("/admin-api/sessions", body, content_type="application/json")


def issue(account) -> sessions.IssuedSession:
    return sessions.issue(account, amr=["pwd"], env=None, remember_me=None)


def me_status(token: str) -> int:
    return Client().get("/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


@pytest.fixture
def revoked(db):
    seen = []

    def receiver(sender, session, reason, **kwargs):
        seen.append((str(session.pk), reason))

    signals.session_revoked.connect(receiver)
    yield seen
    signals.session_revoked.disconnect(receiver)


# --- POST /sessions -----------------------------------------------------------------------------


def test_create_issues_a_session_with_the_given_client(admin_api, account):
    api = admin_api()
    response = create(
        api, {"user_id": str(account.pk), "user_agent": UA, "ip_address": "2001:db8::1"}
    )
    assert response.status_code == 200
    assert set(response.json()) == {"session_token"}
    token = response.json()["session_token"]
    # The token is answered in the body only.
    assert not response.cookies and "X-Auth-Token" not in response
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == str(account.pk) and "amr" not in claims
    validation = Client().post(
        "/sessions/validate", {"session_token": token}, content_type="application/json"
    )
    assert validation.json()["is_valid"] is True
    assert validation.json()["claims"]["session_id"] == claims["session_id"]
    row = Session.objects.get(pk=claims["session_id"])
    assert (row.user_agent, row.ip_address) == (UA, "2001:db8::1")
    assert me_status(token) == 200
    entry = AuditLogEntry.objects.get(type="login_success")
    assert entry.actor_user_id == account.pk
    assert entry.details["api"] == "admin"
    assert entry.details["api_key_id"] == str(api.api_key.pk)
    assert entry.details["session_id"] == claims["session_id"]
    assert entry.meta_source_ip == "127.0.0.1"  # the caller's; the row has the given one


def test_create_without_a_client_stores_none(admin_api, account):
    response = create(admin_api(), {"user_id": str(account.pk)})
    assert response.status_code == 200
    listed = admin_api("read").get(sessions_url(account.pk)).json()
    assert listed[0]["user_agent"] is None and listed[0]["ip_address"] is None


@override_settings(HANKOFLOW={"SESSION": {"LIMIT": 2}})
def test_created_sessions_count_against_the_limit(admin_api, account, revoked):
    oldest = issue(account)
    Session.objects.filter(pk=oldest.session_id).update(
        created_at=clock.now() - timedelta(minutes=5)
    )
    api = admin_api()
    first = create(api, {"user_id": str(account.pk)}).json()["session_token"]
    assert me_status(oldest.token) == 200
    Session.objects.exclude(pk=oldest.session_id).update(
        created_at=clock.now() - timedelta(minutes=1)
    )
    second = create(api, {"user_id": str(account.pk)}).json()["session_token"]
    assert Session.objects.filter(account=account).count() == 2
    assert me_status(oldest.token) == 401
    assert me_status(first) == 200 and me_status(second) == 200
    assert revoked == [(oldest.session_id, signals.REASON_LIMIT)]


def test_create_for_an_unknown_user_is_404(admin_api):
    response = create(admin_api(), {"user_id": str(uuid.uuid4())})
    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "user not found"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "user_id is a required field"),
        ({"user_id": ""}, "user_id is a required field"),
        ({"user_id": "nope"}, "user_id must be a valid uuid"),
        ({"user_id": 5}, "user_id must be a valid uuid"),
        (
            {"user_id": "{account}", "ip_address": "999.1.1.1"},
            "ip_address must be a valid ip address",
        ),
        (
            {"user_id": "{account}", "ip_address": "localhost"},
            "ip_address must be a valid ip address",
        ),
        ({"user_id": "{account}", "ip_address": 127}, "ip_address must be a string"),
        ({"user_id": "{account}", "user_agent": ["x"]}, "user_agent must be a string"),
    ],
)
def test_bad_bodies_are_400(admin_api, account, body, message):
    body = {k: str(account.pk) if v == "{account}" else v for k, v in body.items()}
    response = create(admin_api(), body)
    assert response.status_code == 400
    assert response.json()["message"] == message
    assert not Session.objects.exists()


@pytest.mark.parametrize("raw", [b"{", b"[]", b'"x"', b"null", b'{"user_id": "\\u0000"}'])
def test_malformed_bodies_are_400(admin_api, raw):
    response = admin_api().generic("POST", "/admin-api/sessions", raw, "application/json")
    assert response.status_code == 400


def test_an_overlong_user_agent_is_stored_shortened(admin_api, account):
    response = create(admin_api(), {"user_id": str(account.pk), "user_agent": "x\n" * 1000})
    assert response.status_code == 200
    row = Session.objects.get(account=account)
    assert row.user_agent == "x" * 512


# --- GET /users/{id}/sessions -------------------------------------------------------------------


def test_list_active_sessions_newest_first(admin_api, account, other_account):
    old, new, expired = issue(account), issue(account), issue(account)
    issue(other_account)
    Session.objects.filter(pk=old.session_id).update(created_at=clock.now() - timedelta(hours=1))
    Session.objects.filter(pk=expired.session_id).update(expires_at=clock.now() - timedelta(1))
    response = admin_api("read").get(sessions_url(account.pk))
    assert response.status_code == 200
    body = response.json()
    assert [s["id"] for s in body] == [new.session_id, old.session_id]
    assert {s["user_id"] for s in body} == {str(account.pk)}
    assert set(body[0]) == {
        "id",
        "user_id",
        "user_agent",
        "ip_address",
        "created_at",
        "updated_at",
        "expires_at",
        "last_used",
    }


def test_list_unknown_user_and_bad_id(admin_api):
    client = admin_api("read")
    response = client.get(sessions_url(uuid.uuid4()))
    assert response.status_code == 404 and response.json()["message"] == "user not found"
    response = client.get(sessions_url("nope"))
    assert response.status_code == 400
    assert response.json()["message"] == "user_id must be a valid uuid"


# --- DELETE /users/{id}/sessions/{session_id} ---------------------------------------------------


def test_delete_ends_the_session_at_once(admin_api, account, revoked):
    doomed, kept = issue(account), issue(account)
    assert me_status(doomed.token) == 200
    api = admin_api()
    response = api.delete(sessions_url(account.pk, f"/{doomed.session_id}"))
    assert response.status_code == 204 and response.content == b""
    assert me_status(doomed.token) == 401
    assert me_status(kept.token) == 200
    assert revoked == [(doomed.session_id, signals.REASON_REVOKED)]
    entry = AuditLogEntry.objects.get(type="user_logged_out")
    assert entry.details["session_ids"] == [doomed.session_id]
    assert entry.details["api_key_id"] == str(api.api_key.pk)
    assert api.delete(sessions_url(account.pk, f"/{doomed.session_id}")).status_code == 404


def test_delete_another_users_session_is_404(admin_api, account, other_account, revoked):
    theirs = issue(other_account)
    response = admin_api().delete(sessions_url(account.pk, f"/{theirs.session_id}"))
    assert response.status_code == 404
    assert me_status(theirs.token) == 200
    assert revoked == []


@pytest.mark.parametrize(
    "session_id", ["nope", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", str(uuid.UUID(int=0))]
)
def test_a_session_id_must_be_a_uuid4(admin_api, account, session_id):
    response = admin_api().delete(sessions_url(account.pk, f"/{session_id}"))
    assert response.status_code == 400
    assert response.json()["message"] == "session_id must be a valid uuid4"


def test_delete_for_an_unknown_user_is_404(admin_api):
    response = admin_api().delete(sessions_url(uuid.uuid4(), f"/{uuid.uuid4()}"))
    assert response.status_code == 404


def test_a_read_key_can_list_but_not_change(admin_api, account):
    live = issue(account)
    client = admin_api(api_keys.READ)
    assert client.get(sessions_url(account.pk)).status_code == 200
    assert create(client, {"user_id": str(account.pk)}).status_code == 403
    assert client.delete(sessions_url(account.pk, f"/{live.session_id}")).status_code == 403
    assert Session.objects.filter(account=account).count() == 1
    assert not AuditLogEntry.objects.exists()


@override_settings(
    HANKOFLOW={
        "WEBHOOKS": {
            "ENABLED": True,
            "HOOKS": [{"CALLBACK": "https://hooks.example.com/in", "EVENTS": ["session"]}],
        }
    }
)
def test_create_and_delete_send_hankos_webhook_events(admin_api, account):
    client = admin_api()
    token = create(client, {"user_id": str(account.pk)}).json()["session_token"]
    session_id = jwt.decode(token, options={"verify_signature": False})["session_id"]
    client.delete(sessions_url(account.pk, f"/{session_id}"))
    deliveries = WebhookDelivery.objects.order_by("created_at", "pk")
    assert [d.event for d in deliveries] == ["session.create.admin", "session.delete.admin.revoke"]
    assert {d.data["id"] for d in deliveries} == {session_id}
