"""``POST /user`` and ``POST /users`` (platform.md §3.3.10) under the privacy rules."""

from __future__ import annotations

import pytest
from django.test import Client

from hankoflow.models import Account, AuditLogEntry, Email, Session, WebhookDelivery
from hankoflow.testing.openapi_public import check
from tests.api.public.legacy.conftest import HOOKS


def find(email):
    return Client().post("/user", {"email": email}, content_type="application/json")


def create(email, client=None):
    return (client or Client()).post("/users", {"email": email}, content_type="application/json")


def test_find_answers_404_for_everything_without_existence_hints(legacy, account_factory):
    account_factory("known@example.com")

    known, unknown = find("known@example.com"), find("unknown@example.com")

    assert check(known, "POST", "/user") == {"code": 404, "message": "user not found"}
    assert known.content == unknown.content


def test_find_with_existence_hints(legacy, account_factory, soft_authenticator):
    legacy(PRIVACY={"SHOW_ACCOUNT_EXISTENCE_HINTS": True})
    account = account_factory("known@example.com", passkey=soft_authenticator)
    email = Email.objects.get(account=account)

    body = check(find(" Known@Example.com "), "POST", "/user")

    assert body == {
        "id": str(account.pk),
        "email_id": str(email.pk),
        "verified": email.is_verified,
        "has_webauthn_credential": True,
    }
    assert check(find("unknown@example.com"), "POST", "/user")["code"] == 404


@pytest.mark.parametrize("payload", [{}, {"email": ""}, {"email": 3}])
def test_find_without_an_address_is_400(legacy, payload, db):
    response = Client().post("/user", payload, content_type="application/json")

    assert check(response, "POST", "/user")["code"] == 400


def test_create_is_403_while_addresses_need_verification(legacy, db):
    response = create("new@example.com")

    assert response.status_code == 403
    assert "registration flow" in response.json()["message"]
    assert not Account.objects.exists()


def test_create_without_verification_signs_in(legacy, db):
    legacy(EMAIL={"REQUIRE_VERIFICATION": False}, WEBHOOKS=HOOKS)

    response = create("New@Example.com")

    body = check(response, "POST", "/users")
    account = Account.objects.get()
    email = Email.objects.get(account=account)
    assert body == {"id": str(account.pk), "user_id": str(account.pk), "email_id": str(email.pk)}
    assert email.address == "new@example.com" and email.is_primary and not email.is_verified
    assert response["X-Session-Lifetime"] == "43200"
    assert response.cookies["hanko"].value
    assert Session.objects.filter(account=account).count() == 1
    assert AuditLogEntry.objects.filter(type="user_created").count() == 1
    assert WebhookDelivery.objects.filter(event="user.create").count() == 1
    assert not WebhookDelivery.objects.filter(event="user.login").exists()  # a sign-up


def test_create_an_existing_address_is_409(legacy, account_factory):
    legacy(EMAIL={"REQUIRE_VERIFICATION": False})
    account_factory("taken@example.com")

    response = create("TAKEN@example.com")

    assert check(response, "POST", "/users")["code"] == 409
    assert Account.objects.count() == 1


def test_create_is_403_when_signup_is_off(legacy, db):
    legacy(EMAIL={"REQUIRE_VERIFICATION": False}, ACCOUNT={"ALLOW_SIGNUP": False})

    assert create("new@example.com").status_code == 403
    assert not Account.objects.exists()


@pytest.mark.parametrize("address", ["", "no-at-sign", "a@" + "b" * 130])
def test_create_with_a_bad_address_is_400(legacy, address, db):
    legacy(EMAIL={"REQUIRE_VERIFICATION": False})

    assert check(create(address), "POST", "/users")["code"] == 400


@pytest.mark.parametrize("path", ["/user", "/users"])
def test_off_by_default(path, db):
    response = Client().post(path, {"email": "a@example.com"}, content_type="application/json")

    assert response.status_code == 404
