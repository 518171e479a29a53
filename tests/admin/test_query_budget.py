"""A changelist page of 100 rows costs a fixed number of queries, not one per row."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model

from hankoflow import clock
from hankoflow.models import Account, AuditLogEntry, Email, Session, WebauthnCredential

pytestmark = pytest.mark.django_db

ROWS = 100
# Measured: 4 to 7 (Django's session, user and count queries plus ours); what matters is that
# the number does not grow with the rows.
BUDGET = 8


@pytest.fixture
def many_accounts(db) -> list[Account]:
    User = get_user_model()
    users = User.objects.bulk_create(
        [User(**{User.USERNAME_FIELD: f"user{i}@example.net"}) for i in range(ROWS)]
    )
    accounts = Account.objects.bulk_create([Account(user=user) for user in users])
    Email.objects.bulk_create(
        [
            Email(account=a, address=f"user{i}@example.net", is_primary=True, is_verified=True)
            for i, a in enumerate(accounts)
        ]
    )
    return accounts


def test_users(admin_client, many_accounts, django_assert_max_num_queries):
    with django_assert_max_num_queries(BUDGET):
        response = admin_client.get("/admin/auth/user/")
    assert len(response.context["cl"].result_list) == ROWS
    assert "user99@example.net" in response.content.decode()


def test_audit_log(admin_client, many_accounts, django_assert_max_num_queries):
    AuditLogEntry.objects.bulk_create(
        [AuditLogEntry(type="login_success", actor_user_id=a.pk) for a in many_accounts]
    )
    with django_assert_max_num_queries(BUDGET):
        response = admin_client.get("/admin/hankoflow/auditlogentry/")
    assert len(response.context["cl"].result_list) == ROWS


def test_sessions(admin_client, many_accounts, django_assert_max_num_queries):
    now = clock.now()
    Session.objects.bulk_create(
        [
            Session(
                account=a,
                created_at=now,
                updated_at=now,
                last_used=now,
                expires_at=now + timedelta(hours=1),
            )
            for a in many_accounts
        ]
    )
    with django_assert_max_num_queries(BUDGET):
        response = admin_client.get("/admin/hankoflow/session/")
    assert len(response.context["cl"].result_list) == ROWS


def test_credentials(admin_client, many_accounts, django_assert_max_num_queries):
    WebauthnCredential.objects.bulk_create(
        [
            WebauthnCredential(
                id=uuid.uuid4().hex, account=a, public_key="x", attestation_type="none"
            )
            for a in many_accounts
        ]
    )
    with django_assert_max_num_queries(BUDGET):
        response = admin_client.get("/admin/hankoflow/webauthncredential/")
    assert len(response.context["cl"].result_list) == ROWS
