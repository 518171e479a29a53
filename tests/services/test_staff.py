"""hankoflow.services.staff and the small service functions it added: delete_credential and
mail.requeue."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.dispatch import receiver

from hankoflow import signals
from hankoflow.models import AuditLogEntry, OutboxEmail, SigningKey, WebauthnCredential
from hankoflow.services import jwks, staff, webauthn
from hankoflow.services import mail as mail_service

pytestmark = pytest.mark.django_db


class Env:
    request = None
    language = ""
    ip = "192.0.2.1"
    user_agent = "admin"


@pytest.fixture
def operator(db):
    return get_user_model().objects.create_user("operator", password="x")  # noqa: S106


def credential(account, *, mfa_only: bool) -> WebauthnCredential:
    return WebauthnCredential.objects.create(
        id=uuid.uuid4().hex,
        account=account,
        public_key="x",
        attestation_type="none",
        mfa_only=mfa_only,
    )


def test_delete_credential_announces_once(account):
    row = credential(account, mfa_only=True)
    sent = []

    @receiver(signals.credential_removed)
    def on_removed(sender, kind, credential_id, **kwargs):
        sent.append((kind, credential_id))

    try:
        assert webauthn.delete_credential(row) is True
        assert webauthn.delete_credential(row) is False  # already gone: nothing announced
    finally:
        signals.credential_removed.disconnect(on_removed)
    assert sent == [(signals.CREDENTIAL_SECURITY_KEY, row.id)]


def test_remove_credential_names_the_staff_member(account, operator):
    row = credential(account, mfa_only=False)
    assert staff.remove_credential(row, staff=operator, env=Env()) is True
    entry = AuditLogEntry.objects.get(type="passkey_deleted")
    assert entry.actor_user_id == account.pk and entry.meta_source_ip == "192.0.2.1"
    assert entry.details == {
        "kind": "passkey",
        "credential_id": row.id,
        "admin_action": "remove_credential",
        "staff_user": operator.pk,
        "staff_username": "operator",
    }
    assert staff.remove_credential(row, staff=operator, env=Env()) is False
    assert AuditLogEntry.objects.filter(type="passkey_deleted").count() == 1


def test_remove_totp_without_one(account, operator):
    assert staff.remove_totp(account, staff=operator, env=Env()) is False
    assert not AuditLogEntry.objects.exists()


def queued(kind: str, status: str, **fields) -> OutboxEmail:
    secret = {"code": "123456"} if kind in mail_service.CODE_KINDS else None
    row = mail_service.queue(kind, to="x@example.com", language="en", context={}, secret=secret)
    OutboxEmail.objects.filter(pk=row.pk).update(status=status, **fields)
    row.refresh_from_db()
    return row


def test_requeue_a_failed_notice(db, django_capture_on_commit_callbacks):
    row = queued("email_registration_attempted", "failed", attempts=6, last_error="boom")
    with django_capture_on_commit_callbacks() as callbacks:
        assert mail_service.requeue(row) is True
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, "")
    assert len(callbacks) == 1  # handed on after the commit, like a new row


@pytest.mark.parametrize(
    ("kind", "status", "fields"),
    [
        ("login", "sent", {"secret": None}),  # the code is gone
        ("login", "failed", {"secret": None}),
        ("email_registration_attempted", "pending", {}),  # on its way already
    ],
)
def test_requeue_refuses(db, kind, status, fields):
    row = queued(kind, status, **fields)
    assert mail_service.requeue(row) is False
    row.refresh_from_db()
    assert row.status == status


def test_retire_refuses_unknown_and_the_only_key(db):
    only = jwks.signing_key_row()
    with pytest.raises(jwks.RetireRefused, match="only signing key"):
        jwks.retire_checked(only.kid)
    with pytest.raises(jwks.RetireRefused, match="no active key"):
        jwks.retire_checked("nope")
    jwks.rotate()
    jwks.retire_checked(only.kid)
    assert SigningKey.objects.get(pk=only.pk).retired_at is not None
    with pytest.raises(jwks.RetireRefused, match="no active key"):
        jwks.retire_checked(only.kid)
