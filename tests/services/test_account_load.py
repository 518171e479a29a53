"""The one-statement account load (hankoflow/services/account_load.py): it builds what the ORM's
join and prefetches built, with the same caches, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection

from hankoflow.services import account_load, accounts, webauthn
from hankoflow.services import totp as totp_service

pytestmark = pytest.mark.django_db

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _credential(account, credential_id: str, *, mfa_only: bool, transports: list[str]):
    new = webauthn.NewCredential(
        id=credential_id,
        public_key="pQECAyYgASFYIA",
        sign_count=7,
        aaguid=str(uuid.uuid4()) if not mfa_only else None,
        transports=transports,
        attestation_type="none",
        backup_eligible=not mfa_only,
        backup_state=False,
        mfa_only=mfa_only,
    )
    return webauthn.save_credential(account, new, name=f"key {credential_id}")


@pytest.fixture
def full_account(account_factory):
    """An account with everything the load brings: two emails, a username, a TOTP secret, a
    passkey and a security key."""
    account = account_factory("first@example.com", password="correct horse", username="ivy")
    accounts.add_email(account, "second@example.com", verified=False)
    totp_service.save_secret(account, TOTP_SECRET, last_step=None)
    _credential(account, "cred-b", mfa_only=False, transports=["internal", "hybrid"])
    _credential(account, "cred-a", mfa_only=True, transports=[])
    return account


def _orm_load(monkeypatch, lookup):
    """The same lookup through the ORM's join and prefetches (the path of other databases)."""
    with monkeypatch.context() as patch:
        patch.setattr(account_load, "supports", lambda connection: False)
        return lookup()


def _values(obj) -> dict:
    if obj is None:
        return {}
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


LOOKUPS = {
    "get": lambda account: lambda: accounts.get(account.id),
    "email": lambda account: lambda: accounts.find_by_email(" Second@Example.com "),
    "username": lambda account: lambda: accounts.find_by_username("IVY"),
}


@pytest.mark.parametrize("lookup", sorted(LOOKUPS))
def test_one_statement_builds_what_the_orm_builds(
    full_account, monkeypatch, django_assert_num_queries, lookup
):
    load = LOOKUPS[lookup](full_account)
    expected = _orm_load(monkeypatch, load)
    with django_assert_num_queries(1):
        loaded = load()
    assert _values(loaded) == _values(expected)
    assert _values(loaded.user) == _values(expected.user)
    assert _values(accounts.username_of(loaded)) == _values(accounts.username_of(expected))
    assert _values(accounts.otp_secret_of(loaded)) == _values(accounts.otp_secret_of(expected))
    for accessor in ("emails", "webauthn_credentials"):
        got = [_values(row) for row in getattr(loaded, accessor).all()]
        want = [_values(row) for row in getattr(expected, accessor).all()]
        assert got == want, accessor
        assert len(got) == 2
    # Types too, not only equal values: booleans stay booleans, ids UUIDs, JSON a list.
    credential = loaded.webauthn_credentials.all()[0]
    assert credential.transports == ["internal", "hybrid"]
    assert isinstance(credential.backup_eligible, bool)
    assert isinstance(credential.aaguid, uuid.UUID)
    assert credential.created_at.utcoffset() == timedelta(0)
    assert isinstance(loaded.emails.all()[0].id, uuid.UUID)
    assert accounts.facts(loaded) == accounts.facts(expected)


def test_everything_a_step_reads_is_loaded_with_it(full_account, django_assert_num_queries):
    with django_assert_num_queries(1):
        loaded = accounts.get(full_account.id)
    with django_assert_num_queries(0):
        assert loaded.user.hankoflow_account is loaded
        assert accounts.username_of(loaded).account is loaded
        assert accounts.otp_secret_of(loaded).account is loaded
        assert all(email.account is loaded for email in loaded.emails.all())
        assert all(row.account is loaded for row in loaded.webauthn_credentials.all())
        facts = accounts.facts(loaded)
    assert facts.has_passkey and facts.has_security_key and facts.has_otp_secret
    assert facts.primary_email == "first@example.com"


def test_an_account_without_extras_has_none_cached(account_factory, django_assert_num_queries):
    account = account_factory(email=None, username="solo")
    with django_assert_num_queries(1):
        loaded = accounts.get(account.id)
    with django_assert_num_queries(0):
        assert accounts.otp_secret_of(loaded) is None
        assert list(loaded.emails.all()) == []
        assert list(loaded.webauthn_credentials.all()) == []
        assert accounts.facts(loaded).has_emails is False


def test_a_filtered_list_still_holds_only_the_accounts_rows(full_account, account_factory):
    """The loaded querysets are the related managers' own: a filter on one stays scoped to the
    account, never all the table's rows."""
    account_factory("other@example.com")
    loaded = accounts.get(full_account.id)
    assert [e.address for e in loaded.emails.filter(is_verified=True)] == ["first@example.com"]
    assert loaded.emails.count() == 2


def test_a_missing_account_costs_the_same_statement(full_account, django_assert_num_queries):
    for lookup in (
        lambda: accounts.get(uuid.uuid4()),
        lambda: accounts.get("not a uuid"),
        lambda: accounts.find_by_email("nobody@example.com"),
        lambda: accounts.find_by_username("nobody"),
    ):
        with django_assert_num_queries(1):
            assert lookup() is None


def test_the_newest_rows_come_last_as_the_models_order_them(full_account, clock):
    clock.advance(minutes=1)
    accounts.add_email(full_account, "third@example.com", verified=True)
    loaded = accounts.get(full_account.id)
    assert [e.address for e in loaded.emails.all()][-1] == "third@example.com"
    assert loaded.emails.all()[0].created_at <= clock.now()


def test_the_database_of_the_suite_takes_the_one_statement_path():
    assert account_load.supports(connection)


@pytest.mark.django_db(transaction=True)
def test_locking_an_account_row_needs_a_transaction(account_factory):
    """As ``select_for_update()``: outside a transaction the lock would end at once."""
    from django.db import transaction
    from django.db.transaction import TransactionManagementError

    account = account_factory("lock@example.com")
    with pytest.raises(TransactionManagementError):
        accounts.lock_row(account.pk)
    with transaction.atomic():
        accounts.lock_row(account.pk)
