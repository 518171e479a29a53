"""Removing the password while the other way in goes at the same moment (flow-api.md §4.3.2 #9):
both steps took their unlocked look before either removed anything, so only the re-check under
``accounts.lock`` can keep the account from being left with no way to sign in.

PostgreSQL only: SQLite serialises writers and would hide the race.
"""

from __future__ import annotations

import threading

import pytest
from django.db import transaction
from django.test import override_settings

from hankoflow import names as n
from hankoflow.models import WebauthnCredential
from hankoflow.services import accounts, login_methods, webauthn
from tests.concurrency import run_concurrently

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]

# No email passcodes: the password (typed after the address) and the passkey are the two ways in.
SETTINGS = {"PASSWORD": {"OPTIONAL": True}, "EMAIL": {"USE_FOR_AUTHENTICATION": False}}


@pytest.fixture
def both_look_first(monkeypatch):
    """Every thread waits before its first ``accounts.lock`` until all have reached it, so each
    has made its unlocked check while the other way in was still there."""
    barrier = threading.Barrier(2)
    waited: set[int] = set()
    real = accounts.lock

    def lock(account):
        if threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            barrier.wait(timeout=30)
        return real(account)

    monkeypatch.setattr(accounts, "lock", lock)


@override_settings(HANKOFLOW=SETTINGS)
def test_password_delete_and_deleting_the_only_passkey_cannot_both_succeed(
    profile_session, account_factory, both_look_first
):
    account = account_factory("race@example.com", password="correct horse battery")
    WebauthnCredential.objects.create(
        id="cGFzc2tleS0x", account=account, public_key="x", attestation_type="none"
    )
    person = profile_session(account)
    state = person.start()
    assert "password_delete" in state.body["actions"]

    def delete_password() -> bool:
        answer = person.act(state, n.ACTION_PASSWORD_DELETE)
        return answer.status == 200

    def delete_passkey() -> bool:
        # What the profile's webauthn_credential_delete does, through the services.
        with transaction.atomic():
            fresh = accounts.get(account.id)
            if not login_methods.can_sign_in(fresh, without_passkeys=1):
                return False
            fresh = accounts.lock(fresh)
            if not login_methods.can_sign_in(fresh, without_passkeys=1):
                return False
            [passkey] = webauthn.credentials_of(fresh, mfa_only=False)
            return webauthn.delete_credential(passkey)

    results = run_concurrently([delete_password, delete_passkey], atomic=False)

    assert sorted(results) == [False, True]
    assert login_methods.can_sign_in(accounts.get(account.id))
