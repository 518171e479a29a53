"""Two profile steps disconnecting the last two third-party identities of an account at once
(flow-api.md §4.3.2 #22): the account lock makes the second decide on what the first left, so
the account keeps a way to sign in. PostgreSQL only: SQLite serialises writers."""

from __future__ import annotations

import time

import pytest

from hankoflow import names as n
from hankoflow.models import Identity
from hankoflow.services.thirdparty import identities
from tests.concurrency import run_concurrently

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]

DISCONNECT = n.ACTION_DISCONNECT_THIRDPARTY_OAUTH_PROVIDER
ON = {"ENABLED": True, "CLIENT_ID": "id", "SECRET": "secret"}


def test_two_disconnects_of_the_last_two_identities_cannot_both_succeed(
    profile_session, account_factory, monkeypatch, settings
):
    settings.HANKOFLOW = {
        "EMAIL": {"USE_FOR_AUTHENTICATION": False},  # no passcode: identities are the way in
        "THIRD_PARTY": {
            "ALLOWED_REDIRECT_URLS": ["https://app.example.com/**"],
            "ERROR_REDIRECT_URL": "https://app.example.com/error",
            "PROVIDERS": {"github": ON, "google": ON},
        },
    }
    account = account_factory("two@example.com")
    ids = [
        str(Identity.objects.create(account=account, provider_id=p, subject=f"{p}-1").id)
        for p in ("github", "google")
    ]
    people = [profile_session(account), profile_session(account)]
    states = [person.start() for person in people]
    assert all(DISCONNECT in state.body["actions"] for state in states)

    original = identities.disconnect

    def slow_disconnect(identity, **kwargs):
        time.sleep(0.3)  # hold the lock while the rival's step reaches it
        return original(identity, **kwargs)

    monkeypatch.setattr(identities, "disconnect", slow_disconnect)

    def disconnect(index):
        return lambda: people[index].act(states[index], DISCONNECT, {"identity_id": ids[index]})

    results = run_concurrently([disconnect(0), disconnect(1)], atomic=False)

    assert sorted(r.status for r in results) == [200, 403], [r.body for r in results]
    assert Identity.objects.filter(account=account).count() == 1
