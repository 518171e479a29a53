"""Admin API authenticator app, ``/users/{id}/otp`` (platform.md §4.3.7)."""

from __future__ import annotations

import uuid

import pytest

from hankoflow import signals
from hankoflow.models import AuditLogEntry, OTPSecret
from hankoflow.services import api_keys, totp

pytestmark = pytest.mark.django_db

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def otp_url(account_id) -> str:
    return f"/admin-api/users/{account_id}/otp"


@pytest.fixture
def removed(db):
    seen = []

    def receiver(sender, **kwargs):
        seen.append((kwargs["kind"], kwargs["credential_id"]))

    signals.credential_removed.connect(receiver)
    yield seen
    signals.credential_removed.disconnect(receiver)


def test_otp(admin_api, account_factory, account):
    with_app = account_factory("app@example.com", totp=SECRET)
    secret = OTPSecret.objects.get(account=with_app)
    response = admin_api("read").get(otp_url(with_app.pk))
    assert response.status_code == 200
    assert response.json()["id"] == str(secret.pk)
    assert set(response.json()) == {"id", "created_at"}
    assert admin_api("read").get(otp_url(account.pk)).status_code == 404
    assert admin_api("read").get(otp_url(uuid.uuid4())).status_code == 404
    assert admin_api("read").get(otp_url("nope")).status_code == 400


def test_delete_otp(admin_api, account_factory, removed):
    account = account_factory("app@example.com", totp=SECRET)
    secret = OTPSecret.objects.get(account=account)
    client = admin_api()
    response = client.delete(otp_url(account.pk))
    assert response.status_code == 204
    assert not totp.has_secret(account)
    assert removed == [(signals.CREDENTIAL_TOTP, str(secret.pk))]
    entry = AuditLogEntry.objects.get(type="passkey_deleted")
    assert entry.details["kind"] == "totp" and entry.details["api_key_id"] == str(client.api_key.pk)
    assert client.delete(otp_url(account.pk)).status_code == 404
    assert client.delete(otp_url(uuid.uuid4())).status_code == 404


def test_a_read_key_cannot_delete(admin_api, account_factory):
    account = account_factory("app@example.com", totp=SECRET)
    assert admin_api(api_keys.READ).delete(otp_url(account.pk)).status_code == 403
    assert totp.has_secret(account)
    assert not AuditLogEntry.objects.exists()
