"""Admin API users (platform.md §4.3.2): every answer is checked against openapi-admin.yaml by
the ``admin_api`` client."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from hankoflow.models import Account, AuditLogEntry
from hankoflow.services import accounts, audit, passwords

BASE = "/admin-api/users"


def post(client, body, path=BASE):
    return client.post(path, json.dumps(body), content_type="application/json")


def patch(client, user_id, body):
    return client.patch(f"{BASE}/{user_id}", json.dumps(body), content_type="application/json")


def message(response) -> str:
    return response.json()["message"]


# --- POST /users -------------------------------------------------------------------------------


def test_create_with_id_emails_username_and_created_at(admin_api):
    client = admin_api()
    user_id = str(uuid.uuid4())
    body = {
        "id": user_id,
        "emails": [
            {"address": "Jane@Example.com", "is_primary": True, "is_verified": True},
            {"address": "jane@work.example", "is_primary": False},
        ],
        "username": "jane_doe",
        "created_at": "2024-05-06T07:08:09Z",
    }
    response = post(client, body)
    assert response.status_code == 200  # Hanko: 200, not 201
    user = response.json()
    assert user["id"] == user_id
    assert user["created_at"] == "2024-05-06T07:08:09Z"
    assert user["username"]["username"] == "jane_doe"
    emails = {e["address"]: e for e in user["emails"]}
    assert emails["jane@example.com"]["is_primary"] and emails["jane@example.com"]["is_verified"]
    assert not emails["jane@work.example"]["is_primary"]
    assert not emails["jane@work.example"]["is_verified"]
    account = accounts.get(user_id)
    assert account is not None and account.user is not None
    entry = AuditLogEntry.objects.get(type=audit.USER_CREATED, actor_user_id=user_id)
    assert entry.details["api_key_id"] == str(client.api_key.pk)
    assert entry.details["api_key_name"] == client.api_key.name


def test_create_with_username_only_generates_the_id(admin_api):
    response = post(admin_api(), {"username": "solo"})
    assert response.status_code == 200
    assert uuid.UUID(response.json()["id"])
    assert "emails" not in response.json()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, "at least one of [Emails, Username] must be set"),
        ({"emails": [], "username": ""}, "at least one of [Emails, Username] must be set"),
        (
            {"emails": [{"address": "a@x.io", "is_primary": True}, {"address": "A@x.io"}]},
            "emails entries are not unique",
        ),
        ({"emails": [{"address": "a@x.io"}]}, "at least one primary email must be provided"),
        (
            {
                "emails": [
                    {"address": "a@x.io", "is_primary": True},
                    {"address": "b@x.io", "is_primary": True},
                ]
            },
            "only one primary email is allowed",
        ),
        ({"id": "nope", "username": "x"}, "id must be a valid uuid"),
        ({"emails": [{"address": "not-an-address", "is_primary": True}]}, None),
        ({"emails": "a@x.io"}, None),
        ({"username": 5}, None),
        ({"username": "x", "created_at": "yesterday"}, None),
        ({"username": "a\x00b"}, None),
    ],
)
def test_create_refuses_bad_bodies_with_hankos_messages(admin_api, body, expected):
    response = post(admin_api(), body)
    assert response.status_code == 400
    if expected:
        assert message(response) == expected
    assert not Account.objects.exists()


def test_create_refuses_malformed_json_and_other_bodies(admin_api):
    client = admin_api()
    assert client.post(BASE, "{", content_type="application/json").status_code == 400
    assert client.post(BASE, "[]", content_type="application/json").status_code == 400
    assert client.post(BASE, "a=b", content_type="text/plain").status_code == 400


def test_create_conflicts_answer_409_and_change_nothing(admin_api, account_factory):
    client = admin_api()
    taken = account_factory("taken@example.com", username="taken")
    free = {"address": "free@example.com", "is_primary": True}
    for body, expected in (
        ({"id": str(taken.id), "emails": [free]}, "user already exists"),
        (
            {"emails": [free, {"address": "taken@example.com", "is_primary": False}]},
            "email address already exists",
        ),
        ({"emails": [free], "username": "TAKEN"}, "username already exists"),
    ):
        response = post(client, body)
        assert (response.status_code, message(response)) == (409, expected)
    assert not accounts.email_exists("free@example.com")
    assert Account.objects.count() == 1


def test_a_read_key_cannot_create(admin_api):
    response = post(admin_api("read"), {"username": "x"})
    assert response.status_code == 403
    assert response.json() == {"code": 403, "message": "Forbidden"}


# --- GET /users/{id} ---------------------------------------------------------------------------


def test_get_the_full_user(admin_api, account_factory):
    account = account_factory("pw@example.com", password="correct horse battery")
    user = admin_api("read").get(f"{BASE}/{account.id}").json()
    assert user["id"] == str(account.id)
    assert set(user["password"]) == {"id", "created_at", "updated_at"}
    again = admin_api("read").get(f"{BASE}/{account.id}").json()
    assert again["password"]["id"] == user["password"]["id"]


def test_get_unknown_and_malformed_ids(admin_api):
    client = admin_api("read")
    missing = client.get(f"{BASE}/{uuid.uuid4()}")
    assert (missing.status_code, message(missing)) == (404, "user not found")
    bad = client.get(f"{BASE}/not-a-uuid")
    assert (bad.status_code, message(bad)) == (400, "failed to parse userId as uuid")


# --- PATCH /users/{id} -------------------------------------------------------------------------


def test_patch_sets_and_clears_fields(admin_api, account_factory):
    client = admin_api()
    account = account_factory("p@example.com")
    body = {
        "username": " New_Name ",
        "name": " Jane Doe ",
        "given_name": "Jane",
        "family_name": "Doe",
        "picture": "https://example.com/jane.png",
    }
    user = patch(client, account.id, body).json()
    assert user["username"]["username"] == "new_name"
    assert (user["name"], user["given_name"], user["family_name"]) == ("Jane Doe", "Jane", "Doe")
    assert user["picture"] == "https://example.com/jane.png"
    changed = AuditLogEntry.objects.get(type=audit.USERNAME_CHANGED, actor_user_id=account.id)
    assert changed.details["api_key_name"] == client.api_key.name
    cleared = patch(client, account.id, {"username": None, "picture": None, "name": None}).json()
    assert "username" not in cleared and "picture" not in cleared and "name" not in cleared
    assert cleared["given_name"] == "Jane"
    assert AuditLogEntry.objects.filter(type=audit.USERNAME_DELETED).count() == 1


def test_patch_bumps_updated_at_only_on_a_change(admin_api, account_factory):
    client = admin_api()
    account = account_factory("p@example.com")
    old = datetime(2020, 1, 1, tzinfo=UTC)
    Account.objects.filter(pk=account.pk).update(updated_at=old, given_name="Jane")
    unchanged = patch(client, account.id, {"given_name": "Jane"}).json()
    assert unchanged["updated_at"] == "2020-01-01T00:00:00Z"
    changed = patch(client, account.id, {"given_name": "Janet"}).json()
    assert changed["updated_at"] != "2020-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        ({"username": ""}, 400, "username must be a non-empty string or null"),
        ({"name": "   "}, 400, "name must be a non-empty string or null"),
        ({"given_name": 3}, 400, "given_name must be a non-empty string or null"),
        ({"username": "no spaces"}, 400, "username is invalid"),
        ({"username": "dash-ed"}, 400, "username is invalid"),
        (
            {"picture": "ftp://example.com/a.png"},
            400,
            "picture must be a valid http(s) URL or null",
        ),
        (
            {"picture": "https://u:p@example.com/a"},
            400,
            "picture must be a valid http(s) URL or null",
        ),
        ({"picture": "https://"}, 400, "picture must be a valid http(s) URL or null"),
        (
            {"picture": "https://example.com/" + "a" * 2048},
            400,
            "picture must be a valid http(s) URL or null",
        ),
        ({"username": "taken"}, 409, "username already exists"),
    ],
)
def test_patch_refusals(admin_api, account_factory, body, status, expected):
    account_factory("other@example.com", username="taken")
    account = account_factory("p@example.com", username="mine")
    response = patch(admin_api(), account.id, body)
    assert (response.status_code, message(response)) == (status, expected)
    assert accounts.username_of(accounts.get(account.id)).username == "mine"


def test_patch_unknown_user(admin_api):
    response = patch(admin_api(), uuid.uuid4(), {"name": "x"})
    assert (response.status_code, message(response)) == (404, "user not found")


# --- DELETE /users/{id} ------------------------------------------------------------------------


def test_delete_removes_the_user_and_audits_the_key(admin_api, account_factory):
    client = admin_api()
    account = account_factory("gone@example.com")
    response = client.delete(f"{BASE}/{account.id}")
    assert response.status_code == 204 and response.content == b""
    assert accounts.get(account.id) is None
    entry = AuditLogEntry.objects.get(type=audit.USER_DELETED, actor_user_id=account.id)
    assert entry.details["api"] == "admin"
    assert entry.details["api_key_id"] == str(client.api_key.pk)
    assert client.delete(f"{BASE}/{account.id}").status_code == 404
    assert client.delete(f"{BASE}/nope").status_code == 400


def test_a_read_key_cannot_patch_or_delete(admin_api, account_factory):
    account = account_factory("kept@example.com")
    client = admin_api("read")
    assert patch(client, account.id, {"name": "x"}).status_code == 403
    assert client.delete(f"{BASE}/{account.id}").status_code == 403
    assert accounts.get(account.id) is not None


# --- GET /users --------------------------------------------------------------------------------


@pytest.fixture
def listed(account_factory):
    """Four listed users, oldest first, and one with neither email nor username."""
    base = datetime(2025, 1, 1, tzinfo=UTC)
    made = [
        account_factory("alice@example.com"),
        account_factory("bob@work.example", username="bobby"),
        account_factory(None, username="carol"),
        account_factory("dave@example.com"),
    ]
    for i, account in enumerate(made):
        Account.objects.filter(pk=account.pk).update(created_at=base + timedelta(days=i))
    hidden = account_factory(None, username="hidden")
    accounts.delete_username(hidden)
    return made


def ids(response) -> list[str]:
    return [user["id"] for user in response.json()]


def test_list_newest_first_with_only_users_that_have_an_identifier(admin_api, listed):
    response = admin_api("read").get(BASE)
    assert ids(response) == [str(a.id) for a in reversed(listed)]
    assert response["X-Total-Count"] == "4"
    user = response.json()[0]
    assert "password" not in user and "metadata" not in user


def test_list_sort_ascending_and_bad_direction(admin_api, listed):
    client = admin_api("read")
    assert ids(client.get(BASE, {"sort_direction": "asc"})) == [str(a.id) for a in listed]
    bad = client.get(BASE, {"sort_direction": "up"})
    assert (bad.status_code, message(bad)) == (400, "sort_direction must be desc or asc")


def test_list_filters(admin_api, listed):
    client = admin_api("read")
    alice, bob, carol, dave = (str(a.id) for a in listed)
    assert ids(client.get(BASE, {"email": "EXAMPLE.com"})) == [dave, alice]
    assert ids(client.get(BASE, {"username": "CAR"})) == [carol]
    assert set(ids(client.get(BASE, {"email": "work", "username": "carol"}))) == {bob, carol}
    assert ids(client.get(BASE, {"user_id": f"{alice},{carol}"})) == [carol, alice]
    response = client.get(BASE, {"user_id": alice})
    assert ids(response) == [alice] and response["X-Total-Count"] == "1"
    bad = client.get(BASE, {"user_id": f"{alice},nope"})
    assert (bad.status_code, message(bad)) == (400, "failed to parse user_id as uuid")


def test_list_pages(admin_api, listed):
    client = admin_api("read")
    response = client.get(BASE, {"per_page": 3, "page": 2})
    assert ids(response) == [str(listed[0].id)]
    assert response["X-Total-Count"] == "4"
    assert response["Link"] == (
        '<http://testserver/admin-api/users?page=1&per_page=3>; rel="first",'
        '<http://testserver/admin-api/users?page=1&per_page=3>; rel="prev"'
    )


def test_password_object_follows_the_last_change(admin_api, account_factory):
    account = account_factory("pw@example.com", password="correct horse battery")
    before = admin_api("read").get(f"{BASE}/{account.id}").json()["password"]
    entry = audit.record(audit.PASSWORD_CHANGED, env=None, account=account, details={})
    later = entry.created_at + timedelta(days=1)
    AuditLogEntry.objects.filter(pk=entry.pk).update(created_at=later)
    after = admin_api("read").get(f"{BASE}/{account.id}").json()["password"]
    assert after["id"] == before["id"]
    assert after["updated_at"] == accounts.rfc3339(later)
    user = account.user
    user.set_unusable_password()
    user.save()
    assert "password" not in admin_api("read").get(f"{BASE}/{account.id}").json()
    assert passwords  # the module the factory hashes with


def test_profile_data_carries_the_name_fields(admin_api, account_factory):
    from hankoflow.services.profile import profile_data

    account = account_factory("named@example.com")
    assert "name" not in profile_data(account)
    patch(admin_api(), account.id, {"name": "Jane Doe", "picture": "https://example.com/j.png"})
    data = profile_data(accounts.get(account.id))
    assert data["name"] == "Jane Doe" and data["picture"] == "https://example.com/j.png"
    assert "given_name" not in data


def test_create_and_delete_emit_user_webhooks(admin_api):
    from hankoflow.models import Webhook, WebhookDelivery

    Webhook.objects.create(
        callback="https://hooks.example.com/in",
        events=["user.create", "user.delete"],
        expires_at=datetime.now(UTC) + timedelta(days=30),
    )
    client = admin_api()
    created = post(client, {"emails": [{"address": "hook@example.com", "is_primary": True}]})
    user_id = created.json()["id"]
    delivery = WebhookDelivery.objects.get(event="user.create")
    assert delivery.data["id"] == user_id
    assert delivery.data["emails"][0]["address"] == "hook@example.com"
    assert "user_agent" not in delivery.data and "ip_address" not in delivery.data
    assert client.delete(f"{BASE}/{user_id}").status_code == 204
    assert WebhookDelivery.objects.get(event="user.delete").data["id"] == user_id
