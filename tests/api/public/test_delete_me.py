"""``DELETE /me`` and the legacy ``DELETE /user``: self-service deletion with the profile flow's
``account_delete`` rules (ACCOUNT.ALLOW_DELETION, re-authentication, the cookie's origin)."""

from __future__ import annotations

import pytest
from django.test import Client

from hankoflow.conf import settings as hankoflow_settings
from hankoflow.models import Account, AuditLogEntry, Session
from hankoflow.testing.openapi_public import check

COOKIE = "hanko"


@pytest.fixture
def deletion_allowed(settings):
    settings.HANKOFLOW = {
        **settings.HANKOFLOW,
        "ACCOUNT": {"ALLOW_DELETION": True},
        "LEGACY_API": {"ENABLED": True},
    }


@pytest.mark.parametrize("path", ["/me", "/user"])
def test_deletes_the_session_user_and_expires_the_cookie(
    deletion_allowed, signed_in_client, account_factory, path
):
    client = signed_in_client()
    account = client.account
    other = account_factory()

    response = client.delete(path)

    assert response.status_code == 204
    assert response.cookies[COOKIE].value == ""
    assert response.cookies[COOKIE]["max-age"] == 0
    assert not Account.objects.filter(pk=account.pk).exists()
    assert not Session.objects.filter(account_id=account.pk).exists()
    assert Account.objects.filter(pk=other.pk).exists()
    entry = AuditLogEntry.objects.get(type="user_deleted")
    assert entry.actor_user_id == account.pk
    assert entry.details["self_service"] is True
    if path == "/user":
        check(response, "DELETE", path)


@pytest.mark.parametrize("path", ["/me", "/user"])
def test_bearer_token_deletes(deletion_allowed, signed_in_client, path):
    signed_in = signed_in_client()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {signed_in.session_token}")

    assert client.delete(path, HTTP_ORIGIN="https://evil.example").status_code == 204
    assert not Account.objects.filter(pk=signed_in.account.pk).exists()


@pytest.mark.parametrize("path", ["/me", "/user"])
def test_without_a_session_is_401(deletion_allowed, path, db):
    response = Client().delete(path)

    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": "Unauthorized"}


def test_delete_me_is_403_when_deletion_is_off(signed_in_client):
    assert hankoflow_settings.ACCOUNT.ALLOW_DELETION is False
    client = signed_in_client()

    response = client.delete("/me")

    assert response.status_code == 403
    assert response.json() == {"code": 403, "message": "Forbidden"}
    assert Account.objects.filter(pk=client.account.pk).exists()


def test_delete_user_is_404_when_deletion_is_off(settings, signed_in_client):
    settings.HANKOFLOW = {**settings.HANKOFLOW, "LEGACY_API": {"ENABLED": True}}
    client = signed_in_client()

    assert client.delete("/user").status_code == 404
    assert Account.objects.filter(pk=client.account.pk).exists()


def test_delete_user_is_404_when_the_legacy_api_is_off(settings, signed_in_client):
    settings.HANKOFLOW = {**settings.HANKOFLOW, "ACCOUNT": {"ALLOW_DELETION": True}}
    client = signed_in_client()

    response = client.delete("/user")

    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "Not Found"}
    assert Account.objects.filter(pk=client.account.pk).exists()


@pytest.mark.parametrize("path", ["/me", "/user"])
def test_cookie_session_from_a_foreign_origin_is_403(deletion_allowed, signed_in_client, path):
    client = signed_in_client()

    response = client.delete(path, HTTP_ORIGIN="https://evil.example")

    assert response.status_code == 403
    assert Account.objects.filter(pk=client.account.pk).exists()


def test_cookie_session_from_an_allowed_origin_deletes(deletion_allowed, signed_in_client):
    client = signed_in_client()
    origin = hankoflow_settings.CORS.ALLOW_ORIGINS[0]

    assert client.delete("/me", HTTP_ORIGIN=origin).status_code == 204


@pytest.mark.parametrize("path", ["/me", "/user"])
def test_an_old_authentication_is_refused(deletion_allowed, signed_in_client, clock, path):
    client = signed_in_client()
    clock.advance(seconds=hankoflow_settings.PROFILE.REAUTHENTICATION_MAX_AGE + 1)

    response = client.delete(path)

    assert response.status_code == 403
    assert "re-authentication required" in response.json()["message"]
    assert Account.objects.filter(pk=client.account.pk).exists()


def test_no_reauthentication_window_deletes_old_sessions(settings, signed_in_client, clock):
    settings.HANKOFLOW = {
        **settings.HANKOFLOW,
        "ACCOUNT": {"ALLOW_DELETION": True},
        "PROFILE": {"REAUTHENTICATION_MAX_AGE": 0},
    }
    client = signed_in_client()
    clock.advance(hours=11)

    assert client.delete("/me").status_code == 204
