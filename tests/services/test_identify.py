"""``accounts.identify_by_*``: the id and facts of the account a login identifier names, in one
query of scalars, the same as ``accounts.facts`` of the loaded account (security-checks PC-08)."""

from __future__ import annotations

import uuid

import pytest

from hankoflow.models import OTPSecret, WebauthnCredential
from hankoflow.services import accounts

pytestmark = pytest.mark.django_db


@pytest.fixture
def make(account_factory):
    return lambda email="ann@example.com", **details: account_factory(email, **details)


def credential(account, *, mfa_only: bool) -> None:
    WebauthnCredential.objects.create(
        id=uuid.uuid4().hex,
        account=account,
        public_key="x",
        attestation_type="none",
        mfa_only=mfa_only,
    )


def loaded_facts(account) -> accounts.AccountFacts:
    return accounts.facts(accounts.get(account.id))


@pytest.mark.parametrize(
    "setup",
    ["plain", "password", "username", "passkey", "security_key", "both_keys", "otp", "no_email"],
)
def test_identify_gives_the_facts_of_the_loaded_account(make, setup):
    account = make(
        email=None if setup == "no_email" else "ann@example.com",
        username="ann" if setup in ("username", "no_email") else None,
        password="a long enough password" if setup == "password" else None,
    )
    if setup in ("passkey", "both_keys"):
        credential(account, mfa_only=False)
    if setup in ("security_key", "both_keys"):
        credential(account, mfa_only=True)
    if setup == "otp":
        OTPSecret.objects.create(account=account, secret_encrypted="x")

    if setup != "no_email":
        found = accounts.identify_by_email(" Ann@Example.com ")
        assert found == accounts.IdentifiedAccount(str(account.id), loaded_facts(account))
    if setup in ("username", "no_email"):
        found = accounts.identify_by_username("ANN")
        assert found == accounts.IdentifiedAccount(str(account.id), loaded_facts(account))


def test_an_unusable_or_blank_password_counts_as_none(make):
    account = make(password="a long enough password")
    user = account.user
    user.set_unusable_password()
    user.save()
    assert accounts.identify_by_email("ann@example.com").facts.has_password is False
    type(user).objects.filter(pk=user.pk).update(password="")
    assert accounts.identify_by_email("ann@example.com").facts.has_password is False


def test_unknown_identifiers(make, django_assert_num_queries):
    make(username="ann")
    with django_assert_num_queries(1):
        assert accounts.identify_by_email("nobody@example.com") is None
    with django_assert_num_queries(1):
        assert accounts.identify_by_username("nobody") is None
