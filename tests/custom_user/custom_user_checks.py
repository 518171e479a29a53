"""Model-specific checks, run only under tests/custom_user/settings*.py (by the test beside).

Not collected by the default suite (the name does not start with ``test_``): these models
exist only when the custom user app is installed.
"""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from hankoflow.adapter import PLACEHOLDER_EMAIL_DOMAIN
from hankoflow.services import accounts, passwords, profile

pytestmark = pytest.mark.django_db

User = get_user_model()
email_user = pytest.mark.skipif(
    settings.AUTH_USER_MODEL != "custom_user.EmailUser", reason="EmailUser only"
)
handle_user = pytest.mark.skipif(
    settings.AUTH_USER_MODEL != "custom_user.HandleUser", reason="HandleUser only"
)


def create(email=None, username=None, password=None):
    return accounts.create(
        uuid.uuid4(),
        email=email,
        email_verified=True,
        username=username,
        password_hash=passwords.hash_password(password) if password else None,
    )


def test_the_user_model_has_no_username():
    assert settings.AUTH_USER_MODEL.startswith("custom_user.")
    assert "username" not in {f.name for f in User._meta.get_fields()}


def test_sign_up_log_in_and_profile():
    account = create(email="Alice@Example.com", username="alice", password="a long passphrase")
    fresh = accounts.get(str(account.id))
    assert passwords.check_login(fresh, "a long passphrase")
    assert not passwords.check_login(fresh, "wrong")
    assert profile.profile_data(fresh)["username"]["username"] == "alice"
    assert accounts.find_by_email("alice@example.com") == account


@email_user
def test_email_user_gets_the_email_as_login_and_a_placeholder_without_one():
    with_email = create(email="bob@example.com", username="bob")
    assert isinstance(with_email.user.pk, uuid.UUID) and with_email.user.pk != with_email.id
    assert User.objects.get(pk=with_email.user.pk).email == "bob@example.com"
    without = create(username="carol")
    assert without.user.email.endswith("@" + PLACEHOLDER_EMAIL_DOMAIN)
    accounts.add_email(without, "carol@example.com", verified=True)
    assert User.objects.get(pk=without.user.pk).email == "carol@example.com"


@handle_user
def test_handle_user_without_an_email_column():
    account = create(email="dan@example.com")
    assert User.objects.get(pk=account.user.pk).handle == "dan@example.com"
    long_email = create(email="a-rather-long-address@example.com")
    assert len(long_email.user.handle) <= 20
    accounts.add_email(long_email, "second@example.com", verified=False)
    assert accounts.facts(long_email).primary_email == "a-rather-long-address@example.com"


@email_user
def test_inactive_email_user_cannot_log_in():
    account = create(email="erin@example.com", password="a long passphrase")
    User.objects.filter(pk=account.user.pk).update(is_active=False)
    assert not passwords.check_login(accounts.get(account.id), "a long passphrase")
