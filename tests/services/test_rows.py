"""One-row inserts with a statement written once (hankoflow/services/rows.py): the stored row is
what ``save()`` stores, and a model someone listens to is still saved through the ORM."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext

from hankoflow.clock import now as clock_now
from hankoflow.models import AuditLogEntry, Session
from hankoflow.services import accounts, audit, rows

pytestmark = pytest.mark.django_db


def _stored(model, pk) -> dict:
    row = model.objects.get(pk=pk)
    return {f.attname: getattr(row, f.attname) for f in model._meta.concrete_fields}


def test_an_inserted_row_reads_back_as_a_saved_one(account):
    now = clock_now().replace(microsecond=0)
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


def test_a_login_under_the_session_limit_stores_its_session_with_the_limit_check(
    account, settings, clock
):
    """The account lock, then one statement that lists the sessions past the limit and stores
    the new one (PostgreSQL; two on other databases); the oldest beyond the limit still end."""
    from django.db import connection

    from hankoflow.services import sessions

    settings.HANKOFLOW = {"SESSION": {"LIMIT": 2}}
    first = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)  # makes the keys
    clock.advance(seconds=1)
    expected = 2 if connection.vendor == "postgresql" else 3
    with CaptureQueriesContext(connection) as captured:
        second = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    tables = ('"hankoflow_session"', '"hankoflow_account"')
    limit_work = [q["sql"] for q in captured if any(table in q["sql"] for table in tables)]
    assert len(limit_work) == expected, limit_work
    clock.advance(seconds=1)
    third = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    active = {str(s.id) for s in Session.objects.filter(account=account)}
    assert active == {second.session_id, third.session_id}
    assert first.session_id not in active


def test_an_update_stores_what_save_with_update_fields_stores(account):
    entry = audit.record(audit.LOGIN_SUCCESS, account=account)
    entry.error = "changed"
    entry.type = audit.LOGIN_FAILURE
    entry.meta_source_ip = "198.51.100.7"  # not in the fields: left as stored
    with CaptureQueriesContext(connection) as queries:
        rows.update(entry, ("error", "type"))
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["UPDATE"]
    stored = AuditLogEntry.objects.get(pk=entry.pk)
    assert (stored.error, stored.type) == ("changed", audit.LOGIN_FAILURE)
    assert stored.meta_source_ip != "198.51.100.7"


def test_an_update_of_a_model_with_listeners_goes_through_save(account):
    entry = audit.record(audit.LOGIN_SUCCESS, account=account)
    seen = []

    def listener(sender, instance, update_fields, **kwargs):
        seen.append(set(update_fields))

    post_save.connect(listener, sender=AuditLogEntry)
    try:
        rows.update(entry, ("error",))
    finally:
        post_save.disconnect(listener, sender=AuditLogEntry)
    assert seen == [{"error"}]
