"""Concurrency on PostgreSQL: the first signing key is created once, and concurrent logins of
one user never exceed ``SESSION.LIMIT`` (platform.md §2.2, §2.3; security-checks SE-05)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from hankoflow.models import Session, SigningKey
from hankoflow.services import jwks, sessions
from tests.concurrency import run_concurrently

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]

WORKERS = 6


def test_first_signing_key_is_created_once():
    kids = run_concurrently([lambda: jwks.signing_key().kid] * WORKERS)
    assert SigningKey.objects.count() == 1
    assert set(kids) == {SigningKey.objects.get().kid}


def test_concurrent_logins_respect_the_session_limit(account_factory):
    account = account_factory("race@example.com")
    jwks.signing_key()
    with override_settings(HANKOFLOW={"SESSION": {"LIMIT": 2}}):
        issued = run_concurrently(
            [lambda: sessions.issue(account, amr=[], env=None, remember_me=None)] * WORKERS
        )
        valid = [s for s in issued if sessions.validate(s.token, touch=False) is not None]
    assert Session.objects.filter(account=account).count() == 2
    assert len(valid) == 2
