"""Accounts service and adapter (hankoflow/services/accounts.py, hankoflow/adapter.py).

Written against ``get_user_model()`` only: tests/custom_user runs this module again with an
email-login UUID user model and with a user model that has no email field at all.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from openapi_schema_validator import OAS30Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4

from hankoflow.adapter import (
    PLACEHOLDER_EMAIL_DOMAIN,
    DefaultHankoflowAdapter,
    email_field_name,
    get_adapter,
)
from hankoflow.models import Account, Email, Username
from hankoflow.services import accounts, passwords, profile
from hankoflow.testing.openapi import default_spec_path
from tests.concurrency import run_concurrently

pytestmark = pytest.mark.django_db

User = get_user_model()
LOGIN_FIELD = User.USERNAME_FIELD
EMAIL_FIELD = email_field_name(User)
LOGIN_IS_EMAIL = LOGIN_FIELD == EMAIL_FIELD or LOGIN_FIELD == "email"


def new_account(email="alice@example.com", username=None, verified=True, password_hash=None):
    return accounts.create(
        uuid.uuid4(),
        email=email,
        email_verified=verified,
        username=username,
        password_hash=password_hash,
    )


def plain_user(login: str):
    """A Django user created outside hankoflow (no account)."""
    user = User()
    setattr(user, LOGIN_FIELD, login)
    user.set_unusable_password()
    user.save()
    return user


def is_random_login(value: str) -> bool:
    if LOGIN_IS_EMAIL:
        return value.endswith("@" + PLACEHOLDER_EMAIL_DOMAIN)
    return value.startswith("user-")


# --- create -------------------------------------------------------------------------------------


def test_create_makes_user_account_primary_email_and_username():
    account_id = uuid.uuid4()
    account = accounts.create(
        str(account_id),
        email="  Alice@Example.COM ",
        email_verified=True,
        username=" Alice_1 ",
        password_hash=None,
    )
    account.refresh_from_db()
    assert account.id == account_id
    assert account.user.hankoflow_account == account
    (email,) = account.emails.all()
    assert (email.address, email.is_primary, email.is_verified) == ("alice@example.com", True, True)
    assert account.username.username == "alice_1"
    assert not account.user.has_usable_password()
    assert account.user.password.startswith("!")  # unusable, never blank (PW-04)


def test_create_fills_the_login_and_email_fields_of_any_user_model():
    account = new_account(email="alice@example.com", username="alice")
    user = User.objects.get(pk=account.user.pk)
    expected = "alice@example.com" if LOGIN_IS_EMAIL else "alice"
    assert getattr(user, LOGIN_FIELD) == expected
    if EMAIL_FIELD:
        assert getattr(user, EMAIL_FIELD) == "alice@example.com"


def test_login_field_falls_back_to_the_email_then_a_random_value():
    by_email = new_account(email="bob@example.com", username=None)
    assert getattr(by_email.user, LOGIN_FIELD) == "bob@example.com"
    neither = new_account(email=None, username=None)
    assert is_random_login(getattr(neither.user, LOGIN_FIELD))
    assert not neither.emails.exists()
    assert accounts.facts(neither).username is None


def test_username_only_account():
    account = new_account(email=None, username="carol")
    facts = accounts.facts(account)
    assert (facts.has_emails, facts.primary_email, facts.username) == (False, None, "carol")
    login = getattr(account.user, LOGIN_FIELD)
    assert is_random_login(login) if LOGIN_IS_EMAIL else login == "carol"


def test_login_value_of_an_existing_django_user_is_not_reused():
    taken = "Dave@Example.com" if LOGIN_IS_EMAIL else "Dave"
    plain_user(taken)
    account = new_account(email="dave@example.com", username="dave")
    assert is_random_login(getattr(account.user, LOGIN_FIELD))


def test_login_value_longer_than_the_field_is_replaced():
    max_length = User._meta.get_field(LOGIN_FIELD).max_length
    name = "x" * (max_length + 1)
    account = new_account(email=None, username=name)
    login = getattr(account.user, LOGIN_FIELD)
    assert is_random_login(login)
    assert len(login) <= max_length
    assert account.username.username == name


def test_adapter_retries_with_a_random_value_when_it_loses_the_race(monkeypatch):
    taken = "erin@example.com" if LOGIN_IS_EMAIL else "erin"
    plain_user(taken)
    adapter = DefaultHankoflowAdapter()
    # A rival inserted the value after the existence check: skip the check.
    user = User()
    setattr(user, LOGIN_FIELD, taken)
    monkeypatch.setattr(adapter, "new_user", lambda **kwargs: user)
    created = adapter.create_user(email="erin@example.com", username="erin")
    assert created.pk is not None
    assert is_random_login(getattr(created, LOGIN_FIELD))


def test_create_stores_a_given_password_hash():
    account = new_account(password_hash=passwords.hash_password("correct horse battery"))
    assert accounts.facts(account).has_password
    assert passwords.check_login(accounts.get(account.id), "correct horse battery")


def test_create_refuses_a_raw_password():
    with pytest.raises(ValueError):
        new_account(password_hash="not-a-hash")
    assert not Account.objects.exists()


def test_create_refuses_taken_email_or_username_and_leaves_nothing_behind():
    new_account(email="frank@example.com", username="frank")
    users_before = User.objects.count()
    with pytest.raises(accounts.EmailAlreadyExists):
        new_account(email="FRANK@example.com ", username="other")
    with pytest.raises(accounts.UsernameAlreadyExists):
        new_account(email="other@example.com", username="Frank")
    assert User.objects.count() == users_before
    assert Account.objects.count() == 1


def test_create_translates_a_lost_race_into_the_domain_error(monkeypatch):
    new_account(email="gina@example.com")
    users_before = User.objects.count()
    monkeypatch.setattr(accounts, "email_exists", _false_once(accounts.email_exists))
    with pytest.raises(accounts.EmailAlreadyExists):
        new_account(email="gina@example.com")
    assert User.objects.count() == users_before  # the savepoint rolled the user back
    assert Account.objects.count() == 1  # and the transaction is still usable


def _false_once(real):
    calls = []

    def fake(value):
        calls.append(value)
        return False if len(calls) == 1 else real(value)

    return fake


# --- lookups ------------------------------------------------------------------------------------


def test_lookups_normalise_their_argument():
    account = new_account(email="hank@example.com", username="hank")
    assert accounts.find_by_email("  HANK@example.com") == account
    assert accounts.find_by_username(" Hank ") == account
    assert accounts.email_exists("Hank@Example.com")
    assert accounts.username_exists("HANK")
    assert accounts.find_by_email("nobody@example.com") is None
    assert accounts.find_by_username("nobody") is None
    assert not accounts.email_exists("nobody@example.com")
    assert not accounts.username_exists("nobody")


@pytest.mark.parametrize("kind", ["uuid", "str", "upper"])
def test_get_accepts_uuid_or_text(kind):
    account = new_account()
    key = {"uuid": account.id, "str": str(account.id), "upper": str(account.id).upper()}[kind]
    assert accounts.get(key) == account


@pytest.mark.parametrize("key", ["", "not-a-uuid", "1234", str(uuid.UUID(int=1))])
def test_get_returns_none_for_unknown_or_malformed_ids(key):
    new_account()
    assert accounts.get(key) is None


@pytest.mark.parametrize(
    ("lookup", "queries"),
    [
        (lambda account: accounts.get(account.id), 1),
        (lambda account: accounts.find_by_email("ivy@example.com"), 1),
        (lambda account: accounts.find_by_username("ivy"), 1),
    ],
)
def test_lookups_load_what_a_step_needs_at_once(django_assert_num_queries, lookup, queries):
    """User, username and TOTP secret joined, emails and credentials in the same row: the facts and
    the profile data then cost no query at all."""
    account = new_account(email="ivy@example.com", username="ivy")
    with django_assert_num_queries(queries):
        loaded = lookup(account)
    with django_assert_num_queries(0):
        assert loaded.user.pk == account.user.pk
        assert accounts.facts(loaded).primary_email == "ivy@example.com"
        assert profile.profile_data(loaded)["username"]["username"] == "ivy"


def test_writes_refresh_what_a_lookup_loaded():
    account = new_account(email="ivy@example.com")
    loaded = accounts.get(account.id)
    assert accounts.facts(loaded).username is None
    accounts.set_username(loaded, "ivy")
    accounts.add_email(loaded, "second@example.com", verified=True)
    facts = accounts.facts(loaded)
    assert facts.username == "ivy"
    assert {e["address"] for e in profile.profile_data(loaded)["emails"]} == {
        "ivy@example.com",
        "second@example.com",
    }


# --- facts --------------------------------------------------------------------------------------


def test_facts():
    account = new_account(email="jo@example.com", username="jo")
    assert accounts.facts(account) == accounts.AccountFacts(
        has_password=False,
        has_username=True,
        has_emails=True,
        primary_email="jo@example.com",
        username="jo",
    )
    passwords.set_password(account, "a long enough password")
    assert accounts.facts(account).has_password


def test_blank_password_counts_as_none():
    account = new_account()
    User.objects.filter(pk=account.user.pk).update(password="")
    assert not accounts.facts(accounts.get(account.id)).has_password


# --- emails and usernames -----------------------------------------------------------------------


def test_first_added_email_becomes_primary_and_reaches_the_user():
    account = new_account(email=None, username="kim")
    first = accounts.add_email(account, " Kim@Example.com", verified=False)
    second = accounts.add_email(account, "kim2@example.com", verified=True)
    assert (first.address, first.is_primary, first.is_verified) == ("kim@example.com", True, False)
    assert (second.is_primary, second.is_verified) == (False, True)
    assert accounts.facts(account).primary_email == "kim@example.com"
    if EMAIL_FIELD:
        user = User.objects.get(pk=account.user.pk)
        assert getattr(user, EMAIL_FIELD) == "kim@example.com"


def test_adding_an_existing_address_returns_it():
    account = new_account(email="lee@example.com", verified=False)
    again = accounts.add_email(account, "LEE@example.com", verified=False)
    assert not again.is_verified
    verified = accounts.add_email(account, "lee@example.com", verified=True)
    assert verified.pk == again.pk and verified.is_verified
    assert account.emails.count() == 1


def test_adding_another_accounts_address_raises():
    new_account(email="max@example.com")
    other = new_account(email="other@example.com")
    with pytest.raises(accounts.EmailAlreadyExists):
        accounts.add_email(other, "Max@example.com", verified=True)


def test_add_email_translates_a_lost_race(monkeypatch):
    new_account(email="ned@example.com")
    other = new_account(email=None)
    monkeypatch.setattr(accounts, "email_exists", _false_once(accounts.email_exists))
    with pytest.raises(accounts.EmailAlreadyExists):
        accounts.add_email(other, "ned@example.com", verified=True)
    assert not other.emails.exists()


def test_database_allows_one_primary_email_per_account():
    account = new_account(email="olga@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        Email.objects.create(account=account, address="olga2@example.com", is_primary=True)
    Email.objects.create(account=account, address="olga3@example.com", is_primary=False)


def test_models_store_lower_case():
    account = new_account(email=None, username=None)
    email = Email.objects.create(account=account, address=" Pat@Example.COM ")
    username = Username.objects.create(account=account, username=" PAT ")
    assert (email.address, username.username) == ("pat@example.com", "pat")


def test_mark_email_verified_verifies_or_adds():
    account = new_account(email="quinn@example.com", verified=False)
    row = accounts.mark_email_verified(account, "QUINN@example.com")
    assert row.is_verified and row.is_primary
    added = accounts.mark_email_verified(account, "quinn.new@example.com")
    assert added.is_verified and not added.is_primary


def test_set_username_creates_replaces_and_refuses_taken_names():
    account = new_account(username=None)
    created = accounts.set_username(account, " Ray ")
    assert created.username == "ray"
    replaced = accounts.set_username(account, "ray2")
    assert replaced.pk == created.pk and replaced.username == "ray2"
    assert accounts.set_username(account, "RAY2").pk == created.pk
    other = new_account(email="other@example.com", username="taken")
    with pytest.raises(accounts.UsernameAlreadyExists):
        accounts.set_username(account, "Taken")
    assert accounts.facts(other).username == "taken"
    assert accounts.find_by_username("ray2") == account


# --- profile data -------------------------------------------------------------------------------


def test_profile_data_of_a_full_account():
    account = new_account(email="sam@example.com", username="sam")
    accounts.add_email(account, "sam2@example.com", verified=False)
    data = profile.profile_data(account)
    email, email2 = account.emails.order_by("created_at", "id")
    assert data == {
        "id": str(account.id),
        "user_id": str(account.id),
        "mfa_config": {
            "auth_app_set_up": False,
            "totp_enabled": True,
            "security_keys_enabled": True,
        },
        "emails": [
            {
                "id": str(email.id),
                "address": "sam@example.com",
                "is_verified": True,
                "is_primary": True,
            },
            {
                "id": str(email2.id),
                "address": "sam2@example.com",
                "is_verified": False,
                "is_primary": False,
            },
        ],
        "username": {
            "id": str(account.username.id),
            "username": "sam",
            "created_at": accounts.rfc3339(account.username.created_at),
            "updated_at": accounts.rfc3339(account.username.updated_at),
        },
        "created_at": accounts.rfc3339(account.created_at),
        "updated_at": accounts.rfc3339(account.updated_at),
    }
    assert_valid_profile(data)


def test_profile_data_omits_empty_emails_and_username():
    data = profile.profile_data(new_account(email=None, username=None))
    assert set(data) == {"id", "user_id", "mfa_config", "created_at", "updated_at"}
    assert_valid_profile(data)


@pytest.mark.parametrize(
    ("mfa", "totp", "keys"),
    [
        ({"ENABLED": False}, False, False),
        ({"TOTP": {"ENABLED": False}}, False, True),
        ({"SECURITY_KEYS": {"ENABLED": False}}, True, False),
    ],
)
def test_profile_mfa_config_follows_settings(mfa, totp, keys):
    account = new_account()
    with override_settings(HANKOFLOW={"MFA": mfa}):
        config = profile.profile_data(account)["mfa_config"]
    assert config == {"auth_app_set_up": False, "totp_enabled": totp, "security_keys_enabled": keys}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2025, 1, 15, 12, 57, 56, 724052, tzinfo=UTC), "2025-01-15T12:57:56.724052Z"),
        (datetime(2025, 1, 15, 12, 57, 56, 724050, tzinfo=UTC), "2025-01-15T12:57:56.72405Z"),
        (datetime(2025, 1, 15, 12, 57, 56, tzinfo=UTC), "2025-01-15T12:57:56Z"),
        (
            datetime(2025, 1, 15, 14, 57, 56, 100000, tzinfo=timezone(timedelta(hours=2))),
            "2025-01-15T12:57:56.1Z",
        ),
    ],
)
def test_rfc3339_prints_timestamps_like_go(value, text):
    assert accounts.rfc3339(value) == text


def assert_valid_profile(data: dict) -> None:
    """Check against the public ``MeResponse`` and the flow API's ``ProfileDataUser``."""
    shared = default_spec_path().parent
    for document, pointer in (
        (
            "openapi-public.yaml",
            "#/components/responses/MeResponse/content/application~1json/schema",
        ),
        ("openapi-flow.yaml", "#/components/schemas/ProfileDataUser"),
    ):
        spec = yaml.safe_load((Path(shared) / document).read_text(encoding="utf-8"))
        registry = Registry().with_resource("urn:doc", DRAFT4.create_resource(spec))
        validator = OAS30Validator(
            {"$ref": f"urn:doc{pointer}"},
            registry=registry,
            format_checker=OAS30Validator.FORMAT_CHECKER,
        )
        validator.validate(data)


# --- adapter ------------------------------------------------------------------------------------


class NamingAdapter(DefaultHankoflowAdapter):
    def random_login_value(self, model):
        return "custom@" + PLACEHOLDER_EMAIL_DOMAIN if LOGIN_IS_EMAIL else "custom-login"


def test_get_adapter_reads_the_setting():
    assert type(get_adapter()) is DefaultHankoflowAdapter
    path = f"{__name__}.NamingAdapter"
    with override_settings(HANKOFLOW={"ADAPTER": path}):
        assert type(get_adapter()) is NamingAdapter
        account = new_account(email=None, username=None)
    assert getattr(account.user, LOGIN_FIELD) in (
        "custom-login",
        "custom@" + PLACEHOLDER_EMAIL_DOMAIN,
    )


def test_deleting_the_user_deletes_the_account_and_identifiers():
    account = new_account(email="tess@example.com", username="tess")
    account.user.delete()
    assert not Account.objects.exists()
    assert not Email.objects.exists()
    assert not Username.objects.exists()


# --- concurrency (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_sign_ups_with_one_email_create_one_account():
    if connection.vendor != "postgresql":
        pytest.skip("needs row-level concurrency: run with the PostgreSQL service")

    def sign_up() -> str:
        new_account(email="race@example.com", username=None)
        return "created"

    outcomes = run_concurrently([sign_up] * 2, returning=accounts.EmailAlreadyExists)
    results = ["taken" if isinstance(o, accounts.EmailAlreadyExists) else o for o in outcomes]
    assert sorted(results) == ["created", "taken"]
    assert Account.objects.count() == 1
    assert User.objects.count() == 1
