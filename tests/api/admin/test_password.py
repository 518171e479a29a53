"""Admin API password, ``/users/{id}/password`` (platform.md §4.3.5)."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.hashers import identify_hasher

from hankoflow import signals
from hankoflow.models import AuditLogEntry, OutboxEmail, Session
from hankoflow.services import api_keys, passwords, sessions

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def url(account_id) -> str:
    return f"/admin-api/users/{account_id}/password"


def send(client, method: str, account_id, body) -> object:
    return getattr(client, method)(url(account_id), body, content_type="application/json")


def signed_in(account, n: int = 1) -> list[str]:
    return [
        sessions.issue(account, amr=["pwd"], env=None, remember_me=None).token for _ in range(n)
    ]


def test_get(admin_api, account_factory, account):
    with_password = account_factory("pw@example.com", password=PASSWORD)
    response = admin_api("read").get(url(with_password.pk))
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"id", "created_at", "updated_at"}
    assert with_password.user.password not in response.content.decode()
    assert admin_api("read").get(url(with_password.pk)).json()["id"] == body["id"]
    assert admin_api("read").get(url(account.pk)).status_code == 404
    assert admin_api("read").get(url(uuid.uuid4())).json()["message"] == "user not found"
    assert admin_api("read").get(url("nope")).status_code == 400


def test_create_hashes_through_django_and_audits_the_key(admin_api, account):
    added = []
    signals.credential_added.connect(receiver := lambda sender, **kw: added.append(kw["kind"]))
    try:
        client = admin_api()
        response = send(client, "post", account.pk, {"password": "x"})  # no minimum length
    finally:
        signals.credential_added.disconnect(receiver)
    assert response.status_code == 200
    account.user.refresh_from_db()
    assert identify_hasher(account.user.password) and account.user.check_password("x")
    assert passwords.check_login(account, "x")
    entry = AuditLogEntry.objects.get(type="password_changed")
    assert entry.details["context"] == "admin"
    assert entry.details["api_key_id"] == str(client.api_key.pk)
    assert added == ["password"]
    assert response.json()["id"] == admin_api("read").get(url(account.pk)).json()["id"]


def test_create_when_one_exists_is_409(admin_api, account_factory):
    account = account_factory("pw@example.com", password=PASSWORD)
    response = send(admin_api(), "post", account.pk, {"password": "other"})
    assert response.status_code == 409
    account.user.refresh_from_db()
    assert account.user.check_password(PASSWORD)


def test_update_replaces_it_ends_sessions_and_notifies(admin_api, account_factory, client):
    account = account_factory("pw@example.com", password=PASSWORD)
    tokens = signed_in(account, 2)
    api = admin_api()
    response = send(api, "put", account.pk, {"password": "new password"})
    assert response.status_code == 200
    account.user.refresh_from_db()
    assert account.user.check_password("new password")
    assert not account.user.check_password(PASSWORD)
    # Hanko keeps them; a password change ends every session (AD-07, PW-07).
    assert not Session.objects.filter(account=account).exists()
    for token in tokens:
        assert sessions.validate(token) is None
    ended = AuditLogEntry.objects.get(type="user_logged_out")
    assert ended.details["reason"] == "credential_reset"
    assert ended.details["api_key_id"] == str(api.api_key.pk)
    assert OutboxEmail.objects.filter(kind="password_update").exists()
    assert AuditLogEntry.objects.filter(type="password_changed").count() == 1


def test_update_without_a_password_is_404(admin_api, account):
    response = send(admin_api(), "put", account.pk, {"password": "new password"})
    assert response.status_code == 404
    assert response.json()["message"] == "password not found"
    account.user.refresh_from_db()
    assert not account.user.has_usable_password()


def test_delete_ignores_the_last_way_in_and_ends_sessions(admin_api, account_factory):
    # Username and password only: the profile would keep the password; an admin may remove it.
    account = account_factory(None, username="pwonly", password=PASSWORD)
    tokens = signed_in(account)
    client = admin_api()
    response = client.delete(url(account.pk))
    assert response.status_code == 204 and response.content == b""
    account.user.refresh_from_db()
    assert not account.user.has_usable_password()
    assert sessions.validate(tokens[0]) is None
    entry = AuditLogEntry.objects.get(type="password_deleted")
    assert entry.details["api_key_id"] == str(client.api_key.pk)
    assert client.delete(url(account.pk)).status_code == 404
    assert client.get(url(account.pk)).status_code == 404


@pytest.mark.parametrize("method", ["post", "put"])
@pytest.mark.parametrize(
    "body",
    [
        {},
        {"password": ""},
        {"password": None},
        {"password": 12345678},
        {"password": ["x"]},
        [],
        None,
    ],
)
def test_bad_bodies_are_400(admin_api, account_factory, method, body):
    account = account_factory("pw@example.com", password=PASSWORD)
    if method == "post":
        passwords.remove_password(account)
    response = send(admin_api(), method, account.pk, body)
    assert response.status_code == 400


@pytest.mark.parametrize("method", ["post", "put"])
def test_more_than_72_bytes_is_400_not_500(admin_api, account_factory, method):
    account = account_factory("pw@example.com", password=PASSWORD)
    if method == "post":
        passwords.remove_password(account)
    response = send(admin_api(), method, account.pk, {"password": "é" * 37})  # 74 bytes
    assert response.status_code == 400
    assert "72 bytes" in response.json()["message"]
    assert send(admin_api(), method, account.pk, {"password": "é" * 36}).status_code == 200


def test_malformed_json_is_400(admin_api, account):
    response = admin_api().generic("POST", url(account.pk), b'{"password": ', "application/json")
    assert response.status_code == 400


def test_a_read_key_changes_nothing(admin_api, account_factory):
    account = account_factory("pw@example.com", password=PASSWORD)
    client = admin_api(api_keys.READ)
    assert send(client, "put", account.pk, {"password": "new"}).status_code == 403
    assert send(client, "post", account.pk, {"password": "new"}).status_code == 403
    assert client.delete(url(account.pk)).status_code == 403
    account.user.refresh_from_db()
    assert account.user.check_password(PASSWORD)
    assert not AuditLogEntry.objects.exists()
