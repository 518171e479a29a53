"""Admin API WebAuthn credentials, ``/users/{id}/webauthn_credentials`` (platform.md §4.3.4)."""

from __future__ import annotations

import uuid

import pytest

from hankoflow import signals
from hankoflow.models import AuditLogEntry, WebauthnCredential
from hankoflow.services import api_keys, webauthn

pytestmark = pytest.mark.django_db


def credentials_url(account, suffix: str = "") -> str:
    return f"/admin-api/users/{account.pk}/webauthn_credentials{suffix}"


@pytest.fixture
def with_passkey(account_factory, soft_authenticator):
    return account_factory("keys@example.com", passkey=soft_authenticator)


def add_security_key(account, authenticator):
    options = webauthn.registration_options(
        user_id=str(account.id),
        user_name="keys",
        user_display_name="keys",
        mfa_only=True,
        exclude_credential_ids=[],
        flow_id=None,
    )
    new = webauthn.verify_registration(
        options.challenge_id, authenticator.create(options.options), flow_id=None
    )
    return webauthn.save_credential(account, new, name="Key")


@pytest.fixture
def removed(db):
    seen = []

    def receiver(sender, **kwargs):
        seen.append((kwargs["kind"], kwargs["credential_id"]))

    signals.credential_removed.connect(receiver)
    yield seen
    signals.credential_removed.disconnect(receiver)


def test_list_passkeys_and_security_keys(admin_api, with_passkey, soft_authenticator):
    add_security_key(with_passkey, soft_authenticator)
    response = admin_api("read").get(credentials_url(with_passkey))
    assert response.status_code == 200
    assert sorted(c["mfa_only"] for c in response.json()) == [False, True]


def test_list_of_a_user_without_credentials_is_empty(admin_api, account):
    response = admin_api("read").get(credentials_url(account))
    assert response.status_code == 200 and response.json() == []


def test_unknown_user_is_404_and_a_bad_id_400(admin_api):
    client = admin_api("read")
    response = client.get(f"/admin-api/users/{uuid.uuid4()}/webauthn_credentials")
    assert response.status_code == 404 and response.json()["message"] == "user not found"
    assert client.get("/admin-api/users/x/webauthn_credentials").status_code == 400


def test_get_one(admin_api, with_passkey):
    credential = WebauthnCredential.objects.get(account=with_passkey)
    response = admin_api("read").get(credentials_url(with_passkey, f"/{credential.pk}"))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == credential.pk and body["mfa_only"] is False
    assert "sign_count" not in body and "user_id" not in body


@pytest.mark.parametrize("method", ["get", "delete"])
def test_another_users_or_an_unknown_credential_is_404(admin_api, with_passkey, account, method):
    credential = WebauthnCredential.objects.get(account=with_passkey)
    for credential_id in (credential.pk, "unknown", "x" * 5000):
        response = getattr(admin_api(), method)(credentials_url(account, f"/{credential_id}"))
        assert response.status_code == 404
        assert response.json() == {"code": 404, "message": "webauthn credential not found"}
    assert WebauthnCredential.objects.filter(pk=credential.pk).exists()


def test_delete_the_last_passkey(admin_api, account_factory, soft_authenticator, removed):
    # Passwordless, no other way in: the profile would refuse; an admin may.
    account = account_factory(None, username="passkeyonly", passkey=soft_authenticator)
    credential = WebauthnCredential.objects.get(account=account)
    client = admin_api()
    response = client.delete(credentials_url(account, f"/{credential.pk}"))
    assert response.status_code == 204 and response.content == b""
    assert not WebauthnCredential.objects.filter(pk=credential.pk).exists()
    assert removed == [(signals.CREDENTIAL_PASSKEY, credential.pk)]
    entry = AuditLogEntry.objects.get(type="passkey_deleted")
    assert entry.actor_user_id == account.pk
    assert entry.details["kind"] == "passkey" and entry.details["credential_id"] == credential.pk
    assert entry.details["api_key_id"] == str(client.api_key.pk)


def test_delete_a_security_key(admin_api, with_passkey, soft_authenticator, removed):
    key = add_security_key(with_passkey, soft_authenticator)
    response = admin_api().delete(credentials_url(with_passkey, f"/{key.pk}"))
    assert response.status_code == 204
    assert removed == [(signals.CREDENTIAL_SECURITY_KEY, key.pk)]
    assert AuditLogEntry.objects.get(type="passkey_deleted").details["kind"] == "security_key"


def test_a_read_key_deletes_nothing(admin_api, account_factory, soft_authenticator):
    account = account_factory("keys@example.com", passkey=soft_authenticator)
    credential = WebauthnCredential.objects.get(account=account)
    client = admin_api(api_keys.READ)
    assert client.delete(credentials_url(account, f"/{credential.pk}")).status_code == 403
    assert WebauthnCredential.objects.filter(pk=credential.pk).exists()
    assert not AuditLogEntry.objects.exists()
