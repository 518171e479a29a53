"""Admin API emails, ``/users/{id}/emails`` (platform.md §4.3.3). Every answer is validated
against ``openapi-admin.yaml`` by the ``admin_api`` client."""

from __future__ import annotations

import uuid

import pytest
from django.test import override_settings

from hankoflow.models import AuditLogEntry, Email, WebhookDelivery
from hankoflow.services import accounts, api_keys

pytestmark = pytest.mark.django_db

URL = "/admin-api/users/{}/emails"


def emails_url(account, suffix: str = "") -> str:
    return URL.format(account.pk) + suffix


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def last_audit(type_: str) -> AuditLogEntry:
    return AuditLogEntry.objects.filter(type=type_).latest("created_at")


def test_list_shows_every_address(admin_api, account):
    accounts.add_email(account, "second@example.com", verified=False)
    response = admin_api("read").get(emails_url(account))
    assert response.status_code == 200
    body = response.json()
    assert [e["address"] for e in body] == ["alice@example.com", "second@example.com"]
    assert [e["is_primary"] for e in body] == [True, False]
    assert [e["is_verified"] for e in body] == [True, False]


def test_list_of_an_unknown_user_is_empty(admin_api):
    # As Hanko: no 404 for the list (the document has none).
    response = admin_api("read").get(URL.format(uuid.uuid4()))
    assert response.status_code == 200 and response.json() == []


@pytest.mark.parametrize("user_id", ["nope", "1234", "00000000-0000-0000-0000-00000000000g"])
def test_a_user_id_that_is_no_uuid_is_400(admin_api, user_id):
    response = admin_api("read").get(URL.format(user_id))
    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": "failed to parse userId as uuid"}


def test_create_adds_an_unverified_address_and_audits_the_key(admin_api, account):
    client = admin_api()
    response = post(client, emails_url(account), {"address": " New@Example.com "})
    assert response.status_code == 201
    body = response.json()
    assert body["address"] == "new@example.com"
    assert body["is_verified"] is False and body["is_primary"] is False
    assert Email.objects.filter(pk=body["id"], account=account).exists()
    entry = last_audit("email_created")
    assert entry.actor_user_id == account.pk
    assert entry.details["api"] == "admin"
    assert entry.details["api_key_id"] == str(client.api_key.pk)
    assert entry.details["api_key_name"] == client.api_key.name


def test_create_verified(admin_api, account):
    response = post(
        admin_api(), emails_url(account), {"address": "v@example.com", "is_verified": True}
    )
    assert response.status_code == 201 and response.json()["is_verified"] is True


def test_the_first_address_becomes_primary_whatever_is_primary_says(admin_api, account_factory):
    account = account_factory(None, username="nomail")
    response = post(
        admin_api(), emails_url(account), {"address": "first@example.com", "is_primary": False}
    )
    assert response.status_code == 201 and response.json()["is_primary"] is True
    second = post(
        admin_api(), emails_url(account), {"address": "second@example.com", "is_primary": True}
    )
    assert second.status_code == 201 and second.json()["is_primary"] is False


@override_settings(HANKOFLOW={"EMAIL": {"LIMIT": 2}})
def test_create_beyond_the_limit_is_409(admin_api, account):
    client = admin_api()
    assert post(client, emails_url(account), {"address": "two@example.com"}).status_code == 201
    response = post(client, emails_url(account), {"address": "three@example.com"})
    assert response.status_code == 409
    assert not Email.objects.filter(address="three@example.com").exists()


@pytest.mark.parametrize("owner", ["self", "other"])
def test_an_address_that_exists_is_400(admin_api, account, other_account, owner):
    address = "alice@example.com" if owner == "self" else "bob@example.com"
    response = post(admin_api(), emails_url(account), {"address": address})
    assert response.status_code == 400
    assert Email.objects.get(address=address).account_id == (
        account.pk if owner == "self" else other_account.pk
    )


def test_create_for_an_unknown_user_is_404(admin_api):
    response = post(admin_api(), URL.format(uuid.uuid4()), {"address": "x@example.com"})
    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "user not found"}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"address": ""},
        {"address": "not-an-email"},
        {"address": 5},
        {"address": ["a@example.com"]},
        {"address": "a@example.com", "is_verified": "yes"},
        {"address": "a@example.com", "is_primary": 1},
        {"address": "a" * 200 + "@example.com"},
        {"address": "a\u0000b@example.com"},
        [],
        "a@example.com",
        None,
    ],
)
def test_bad_bodies_are_400(admin_api, account, body):
    response = post(admin_api(), emails_url(account), body)
    assert response.status_code == 400
    assert Email.objects.filter(account=account).count() == 1


@pytest.mark.parametrize(
    "raw", ["{", '{"address": "a@example.com"', "\xff", '{"a": NaN}', "[" * 5000]
)
def test_malformed_json_is_400(admin_api, account, raw):
    response = admin_api().generic(
        "POST", emails_url(account), raw.encode("utf-8", "surrogatepass"), "application/json"
    )
    assert response.status_code == 400


def test_get_one(admin_api, account):
    email = account.emails.get()
    response = admin_api("read").get(emails_url(account, f"/{email.pk}"))
    assert response.status_code == 200
    assert response.json()["id"] == str(email.pk)


def test_get_another_users_address_is_404(admin_api, account, other_account):
    email = other_account.emails.get()
    response = admin_api("read").get(emails_url(account, f"/{email.pk}"))
    assert response.status_code == 404


@pytest.mark.parametrize(
    "email_id",
    ["nope", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "00000000-0000-0000-0000-000000000000"],
)
def test_an_email_id_must_be_a_uuid4(admin_api, account, email_id):
    for method in ("get", "delete"):
        response = getattr(admin_api(), method)(emails_url(account, f"/{email_id}"))
        assert response.status_code == 400
        assert response.json()["message"] == "email_id must be a valid uuid4"
    response = admin_api().post(emails_url(account, f"/{email_id}/set_primary"))
    assert response.status_code == 400


def test_unknown_user_for_one_address_is_404(admin_api):
    response = admin_api("read").get(URL.format(uuid.uuid4()) + f"/{uuid.uuid4()}")
    assert response.status_code == 404 and response.json()["message"] == "user not found"


def test_delete_a_secondary_address(admin_api, account):
    second = accounts.add_email(account, "second@example.com", verified=True)
    client = admin_api()
    response = client.delete(emails_url(account, f"/{second.pk}"))
    assert response.status_code == 204 and response.content == b""
    assert not Email.objects.filter(pk=second.pk).exists()
    entry = last_audit("email_deleted")
    assert entry.details["api_key_id"] == str(client.api_key.pk)
    assert client.delete(emails_url(account, f"/{second.pk}")).status_code == 404


def test_delete_the_primary_address_is_409(admin_api, account):
    primary = account.emails.get()
    response = admin_api().delete(emails_url(account, f"/{primary.pk}"))
    assert response.status_code == 409
    assert Email.objects.filter(pk=primary.pk).exists()


def test_delete_ignores_the_profiles_last_way_in_rule(admin_api, account_factory):
    # The address is the only way in besides the primary; an admin may remove it anyway.
    account = account_factory("only@example.com")
    Email.objects.filter(account=account).update(is_primary=False)
    email = account.emails.get()
    response = admin_api().delete(emails_url(account, f"/{email.pk}"))
    assert response.status_code == 204
    assert not account.emails.exists()


def test_set_primary(admin_api, account):
    second = accounts.add_email(account, "second@example.com", verified=False)
    client = admin_api()
    response = client.post(emails_url(account, f"/{second.pk}/set_primary"))
    assert response.status_code == 204
    assert account.emails.get(is_primary=True).pk == second.pk
    account.user.refresh_from_db()
    assert account.user.email == "second@example.com"
    entry = last_audit("primary_email_changed")
    assert entry.details["api_key_id"] == str(client.api_key.pk)
    # Already primary: 204 again, nothing more audited.
    assert client.post(emails_url(account, f"/{second.pk}/set_primary")).status_code == 204
    assert AuditLogEntry.objects.filter(type="primary_email_changed").count() == 1


def test_set_primary_of_another_users_address_is_404(admin_api, account, other_account):
    email = other_account.emails.get()
    response = admin_api().post(emails_url(account, f"/{email.pk}/set_primary"))
    assert response.status_code == 404
    assert other_account.emails.get().is_primary


def test_a_read_key_changes_nothing(admin_api, account):
    second = accounts.add_email(account, "second@example.com", verified=False)
    client = admin_api(api_keys.READ)
    assert post(client, emails_url(account), {"address": "x@example.com"}).status_code == 403
    assert client.delete(emails_url(account, f"/{second.pk}")).status_code == 403
    assert client.post(emails_url(account, f"/{second.pk}/set_primary")).status_code == 403
    assert account.emails.count() == 2 and account.emails.get(is_primary=True).pk != second.pk
    assert not AuditLogEntry.objects.exists()


@override_settings(
    HANKOFLOW={
        "WEBHOOKS": {
            "ENABLED": True,
            "HOOKS": [{"CALLBACK": "https://hooks.example.com/in", "EVENTS": ["user"]}],
        }
    }
)
def test_changes_send_hankos_webhook_events(admin_api, account):
    client = admin_api()
    created = post(client, emails_url(account), {"address": "second@example.com"}).json()
    client.post(emails_url(account, f"/{created['id']}/set_primary"))
    first = Email.objects.get(address="alice@example.com")
    client.delete(emails_url(account, f"/{first.pk}"))
    deliveries = WebhookDelivery.objects.order_by("created_at", "pk")
    assert [d.event for d in deliveries] == [
        "user.update.email.create",
        "user.update.email.primary",
        "user.update.email.delete",
    ]
    assert deliveries[0].data["id"] == str(account.pk)
