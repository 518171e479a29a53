"""Admin clients (a superuser, a view-only support person) and an account with everything."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from hankoflow import clock
from hankoflow.models import Account, Session, TrustedDevice, WebauthnCredential
from hankoflow.services import audit, sessions
from hankoflow.services import totp as totp_service


def make_user(**fields):
    User = get_user_model()
    user = User(**{User.USERNAME_FIELD: fields.pop("login"), **fields})
    user.set_password("pw")
    user.save()
    return user


@pytest.fixture
def superuser(db):
    return make_user(login="root@example.org", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def viewer(db):
    """Staff with only the view permissions of every model: a read-only support role."""
    user = make_user(login="support@example.org", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    return user


@pytest.fixture
def viewer_client(viewer) -> Client:
    client = Client()
    client.force_login(viewer)
    return client


def add_credential(
    account: Account, *, mfa_only: bool = False, name: str = ""
) -> WebauthnCredential:
    return WebauthnCredential.objects.create(
        id=uuid.uuid4().hex + ("sk" if mfa_only else "pk"),
        account=account,
        public_key="pQECAyYgASFYIPUBLICKEYMATERIAL",
        attestation_type="none",
        mfa_only=mfa_only,
        name=name,
    )


@pytest.fixture
def full_account(account_factory) -> Account:
    """An account with a username, a password, a passkey, a security key, TOTP, two sessions,
    a trusted device and a login in its audit trail."""
    account = account_factory("carol@example.com", username="carol", password="correct-horse-9")
    totp_service.save_secret(account, totp_service.new_secret(), last_step=None)
    add_credential(account, name="Laptop")
    add_credential(account, mfa_only=True, name="YubiKey")
    for _ in range(2):
        sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    TrustedDevice.objects.create(
        account=account, token_hash=uuid.uuid4().hex * 2, expires_at=clock.now() + timedelta(days=1)
    )
    audit.record(
        audit.LOGIN_SUCCESS, account=account, details={"login_method": "password", "flow_id": "f"}
    )
    return account


def session_count(account: Account) -> int:
    return Session.objects.filter(account=account).count()
