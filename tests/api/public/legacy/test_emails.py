"""``/emails`` (platform.md §3.3.11): the session user's addresses under the profile's rules."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from hankoflow.models import AuditLogEntry, Email, WebhookDelivery
from hankoflow.services import accounts
from hankoflow.testing.openapi_public import check
from tests.api.public.legacy.conftest import HOOKS

NO_VERIFICATION = {"REQUIRE_VERIFICATION": False}


def add(client, address):
    return client.post("/emails", {"address": address}, content_type="application/json")


@pytest.fixture
def jane(account_factory, signed_in_client):
    account = account_factory("jane@example.com", password="a long password")
    accounts.add_email(account, "other@example.com", verified=True)
    return signed_in_client(account)


def test_lists_the_session_users_addresses(legacy, jane, account_factory):
    account_factory("stranger@example.com")

    body = check(jane.get("/emails"), "GET", "/emails")

    assert sorted(e["address"] for e in body) == ["jane@example.com", "other@example.com"]
    primary = next(e for e in body if e["is_primary"])
    assert primary["address"] == "jane@example.com"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/emails"),
        ("post", "/emails"),
        ("delete", "/emails/x"),
        ("post", "/emails/x/set_primary"),
    ],
)
def test_without_a_session_is_401(legacy, method, path, db):
    response = getattr(Client(), method)(path)

    assert response.status_code == 401


def test_add_without_verification(legacy, jane):
    legacy(EMAIL=NO_VERIFICATION, WEBHOOKS=HOOKS)

    response = add(jane, " New@Example.com ")

    assert response.status_code == 200
    body = response.json()
    email = Email.objects.get(address="new@example.com")
    assert body["id"] == str(email.pk) and body["user_id"] == str(jane.account.pk)
    assert email.account_id == jane.account.pk and not email.is_verified
    assert AuditLogEntry.objects.filter(type="email_created").count() == 1
    assert WebhookDelivery.objects.filter(event="user.update.email.create").count() == 1
    notice = AuditLogEntry.objects.get(type="security_notification_sent")
    assert notice.details["template"] == "email_create"


def test_add_is_403_while_verification_is_required(legacy, jane):
    response = add(jane, "new@example.com")

    assert response.status_code == 403
    assert not Email.objects.filter(address="new@example.com").exists()


@pytest.mark.parametrize("address", ["jane@example.com", "stranger@example.com"])
def test_add_an_address_in_use_is_400(legacy, jane, account_factory, address):
    legacy(EMAIL=NO_VERIFICATION)
    account_factory("stranger@example.com")

    assert check(add(jane, address), "POST", "/emails")["code"] == 400


@pytest.mark.parametrize("address", ["", "no-at-sign", "a@" + "b" * 130])
def test_add_a_bad_address_is_400(legacy, jane, address):
    legacy(EMAIL=NO_VERIFICATION)

    assert check(add(jane, address), "POST", "/emails")["code"] == 400


def test_add_beyond_the_limit_is_409(legacy, jane):
    legacy(EMAIL={**NO_VERIFICATION, "LIMIT": 2})

    assert check(add(jane, "third@example.com"), "POST", "/emails")["code"] == 409


def test_add_after_the_reauthentication_window_is_403(legacy, jane, clock):
    legacy(EMAIL=NO_VERIFICATION)
    clock.advance(seconds=601)

    assert add(jane, "new@example.com").status_code == 403


def test_set_primary(legacy, jane):
    legacy(WEBHOOKS=HOOKS)
    other = Email.objects.get(address="other@example.com")
    path = f"/emails/{other.pk}/set_primary"

    response = jane.post(path)

    assert response.status_code == 204
    other.refresh_from_db()
    assert other.is_primary
    assert not Email.objects.get(address="jane@example.com").is_primary
    assert AuditLogEntry.objects.filter(type="primary_email_changed").count() == 1
    assert WebhookDelivery.objects.filter(event="user.update.email.primary").count() == 1
    assert jane.post(path).status_code == 204  # already primary: still 204
    assert AuditLogEntry.objects.filter(type="primary_email_changed").count() == 1


def test_set_primary_of_an_unverified_address_is_403(legacy, jane):
    unverified = accounts.add_email(jane.account, "unverified@example.com", verified=False)

    assert jane.post(f"/emails/{unverified.pk}/set_primary").status_code == 403


@pytest.mark.parametrize("which", ["stranger", "unknown", "malformed"])
def test_set_primary_and_delete_of_anything_else_is_404(legacy, jane, account_factory, which):
    stranger = account_factory("stranger@example.com")
    email_id = {
        "stranger": Email.objects.get(account=stranger).pk,
        "unknown": uuid.uuid4(),
        "malformed": "not-a-uuid",
    }[which]

    assert jane.post(f"/emails/{email_id}/set_primary").status_code == 404
    assert jane.delete(f"/emails/{email_id}").status_code == 404
    assert Email.objects.filter(account=stranger, is_primary=True).exists()


def test_delete(legacy, jane):
    legacy(WEBHOOKS=HOOKS)
    other = Email.objects.get(address="other@example.com")

    response = jane.delete(f"/emails/{other.pk}")

    assert response.status_code == 204
    assert response.content == b""
    assert not Email.objects.filter(pk=other.pk).exists()
    assert AuditLogEntry.objects.filter(type="email_deleted").count() == 1
    assert WebhookDelivery.objects.filter(event="user.update.email.delete").count() == 1


def test_delete_the_primary_is_409(legacy, jane):
    primary = Email.objects.get(address="jane@example.com")

    response = jane.delete(f"/emails/{primary.pk}")

    assert response.status_code == 409
    assert Email.objects.filter(pk=primary.pk).exists()


def test_delete_after_the_reauthentication_window_is_403(legacy, jane, clock):
    other = Email.objects.get(address="other@example.com")
    clock.advance(seconds=601)

    assert jane.delete(f"/emails/{other.pk}").status_code == 403
    assert Email.objects.filter(pk=other.pk).exists()


def test_off_by_default(jane):
    assert jane.get("/emails").status_code == 404


def test_delete_with_the_cookie_from_a_foreign_origin_is_403(legacy, jane):
    other = Email.objects.get(address="other@example.com")

    response = jane.delete(f"/emails/{other.pk}", HTTP_ORIGIN="https://evil.example")

    assert response.status_code == 403
    assert Email.objects.filter(pk=other.pk).exists()
    assert jane.get("/emails", HTTP_ORIGIN="https://evil.example").status_code == 200  # a read
