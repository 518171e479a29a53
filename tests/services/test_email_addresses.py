"""services.email_addresses: which addresses may be deleted (flow-api.md §4.3.2 "Deletable
emails"), making one primary, deleting one."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from hankoflow.models import Email
from hankoflow.services import accounts, email_addresses

PASSWORD = "correct horse battery"


@pytest.fixture
def configure(settings):
    def apply(sections: dict[str, dict[str, Any]]) -> None:
        merged = dict(settings.HANKOFLOW)
        for name, values in sections.items():
            merged[name] = {**merged.get(name, {}), **values}
        settings.HANKOFLOW = merged

    return apply


def deletable(account) -> list[str]:
    return [email.address for email in email_addresses.deletable(accounts.get(account.id))]


def test_other_addresses_are_deletable_the_primary_next_to_them_is_not(account_factory):
    account = account_factory("jane@example.com")
    accounts.add_email(account, "work@example.com", verified=False)
    assert deletable(account) == ["work@example.com"]


def test_the_only_address_is_not_deletable_while_emails_are_required(
    account_factory, soft_authenticator
):
    account = account_factory("jane@example.com", passkey=soft_authenticator)
    assert deletable(account) == []


def test_the_only_address_is_deletable_when_optional_and_a_passkey_remains(
    account_factory, soft_authenticator, configure
):
    configure({"EMAIL": {"OPTIONAL": True}})
    account = account_factory("jane@example.com", passkey=soft_authenticator)
    assert deletable(account) == ["jane@example.com"]


def test_a_passkey_counts_only_while_passkeys_are_on(
    account_factory, soft_authenticator, configure
):
    account = account_factory("jane@example.com", passkey=soft_authenticator)
    configure({"EMAIL": {"OPTIONAL": True}, "PASSKEY": {"ENABLED": False}})
    assert deletable(account) == []


def test_the_only_address_needs_a_username_next_to_the_password(account_factory, configure):
    configure({"EMAIL": {"OPTIONAL": True}, "USERNAME": {"ENABLED": True}})
    without = account_factory("jane@example.com", password=PASSWORD)
    with_username = account_factory("joe@example.com", password=PASSWORD, username="joe")
    assert deletable(without) == []
    assert deletable(with_username) == ["joe@example.com"]


def test_a_username_without_a_password_does_not_count(account_factory, configure):
    configure({"EMAIL": {"OPTIONAL": True}, "USERNAME": {"ENABLED": True}})
    account = account_factory("jane@example.com", username="jane")
    assert deletable(account) == []


def test_other_addresses_need_some_login_to_remain(account_factory, configure):
    configure({"EMAIL": {"USE_FOR_AUTHENTICATION": False}})
    bare = account_factory("jane@example.com")
    accounts.add_email(bare, "work@example.com", verified=True)
    with_password = account_factory("joe@example.com", password=PASSWORD)
    accounts.add_email(with_password, "joe.work@example.com", verified=True)
    assert deletable(bare) == []
    assert deletable(with_password) == ["joe.work@example.com"]


def test_without_a_primary_the_last_address_is_kept(account_factory):
    account = account_factory("jane@example.com")
    accounts.add_email(account, "work@example.com", verified=True)
    Email.objects.filter(account=account).update(is_primary=False)
    assert deletable(account) == ["jane@example.com", "work@example.com"]
    email_addresses.delete(account, Email.objects.get(address="jane@example.com"))
    assert deletable(account) == []


def test_find_accepts_only_the_accounts_own_ids(account_factory):
    account = account_factory("jane@example.com")
    other = account_factory("joe@example.com")
    own = Email.objects.get(address="jane@example.com")
    loaded = accounts.get(account.id)
    assert email_addresses.find(loaded, str(own.pk)) == own
    assert email_addresses.find(loaded, own.pk) == own
    for value in (str(other.emails.get().pk), str(uuid.uuid4()), "nope", "", None, 12):
        assert email_addresses.find(loaded, value) is None


def test_set_primary_moves_the_marker_and_the_users_email(account_factory):
    account = account_factory("jane@example.com")
    work = accounts.add_email(account, "work@example.com", verified=True)
    account = accounts.get(account.id)
    previous = email_addresses.set_primary(account, work)
    assert previous is not None and previous.address == "jane@example.com"
    assert list(Email.objects.filter(is_primary=True, account=account)) == [work]
    assert email_addresses.primary(account) == work  # the cache was dropped
    account.user.refresh_from_db()
    assert account.user.email == "work@example.com"


def test_set_primary_on_the_primary_changes_nothing(account_factory):
    account = accounts.get(account_factory("jane@example.com").id)
    primary = email_addresses.primary(account)
    assert email_addresses.set_primary(account, primary) is None
    assert email_addresses.primary(account) == primary


def test_delete_removes_only_the_accounts_own_address(account_factory):
    account = account_factory("jane@example.com")
    other = account_factory("joe@example.com")
    assert email_addresses.delete(account, other.emails.get()) is False
    assert Email.objects.filter(address="joe@example.com").exists()
    work = accounts.add_email(account, "work@example.com", verified=True)
    assert email_addresses.delete(account, work) is True
    assert email_addresses.delete(account, work) is False


def test_listed_reads_fresh_rows_and_tolerates_bad_ids(account_factory):
    account = account_factory("jane@example.com")
    assert [e.address for e in email_addresses.listed(account.id)] == ["jane@example.com"]
    assert [e.address for e in email_addresses.listed(str(account.id))] == ["jane@example.com"]
    assert email_addresses.listed("nope") == []
    assert email_addresses.listed(None) == []
