"""One-row inserts with a statement written once (hankoflow/services/rows.py): the stored row is
what ``save()`` stores, and a model someone listens to is still saved through the ORM."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db.models.signals import post_save

from hankoflow import clock
from hankoflow.models import AuditLogEntry, Session
from hankoflow.services import accounts, audit, rows

pytestmark = pytest.mark.django_db


def _stored(model, pk) -> dict:
    row = model.objects.get(pk=pk)
    return {f.attname: getattr(row, f.attname) for f in model._meta.concrete_fields}


def test_an_inserted_row_reads_back_as_a_saved_one(account):
    now = clock.now().replace(microsecond=0)
    fields = {
        "account": account,
        "user_agent": "Browser/1.0",
        "ip_address": "192.0.2.1",
        "created_at": now,
        "updated_at": now,
        "last_used": now,
        "expires_at": now + timedelta(hours=1),
        "authenticated_at": now,
    }
    fast = Session(id=uuid.uuid4(), **fields)
    rows.insert(fast)
    saved = Session(id=uuid.uuid4(), **fields)
    saved.save(force_insert=True)
    assert not fast._state.adding
    got, want = _stored(Session, fast.pk), _stored(Session, saved.pk)
    got.pop("id"), want.pop("id")
    assert got == want


def test_json_and_defaults_are_prepared_as_the_orm_prepares_them(account):
    entry = audit.record(
        audit.LOGIN_SUCCESS, account=account, details={"login_method": "password", "n": [1, 2]}
    )
    stored = AuditLogEntry.objects.get(pk=entry.pk)
    assert stored.details == {"login_method": "password", "n": [1, 2]}
    assert stored.updated_at is not None  # auto_now, filled by pre_save
    assert stored.actor_user_id == account.pk


def test_a_model_with_listeners_is_saved_through_the_orm(account):
    seen = []

    def listener(sender, instance, created, **kwargs):
        seen.append((instance.pk, created))

    post_save.connect(listener, sender=AuditLogEntry)
    try:
        entry = audit.record(audit.LOGIN_SUCCESS, account=account)
    finally:
        post_save.disconnect(listener, sender=AuditLogEntry)
    assert seen == [(entry.pk, True)]


def test_one_statement_per_row(account, django_assert_num_queries):
    loaded = accounts.get(account.id)  # its primary email with it
    with django_assert_num_queries(1):
        audit.record(audit.LOGIN_SUCCESS, account=loaded)
