"""Two tabs deleting the account's last two addresses at the same instant, on PostgreSQL
(flow-api.md §4.3.2 "Deletable emails"; security-checks: no account left without a way in).

Each step runs in its own thread, connection and transaction, as concurrent requests do; SQLite
serialises writers and would hide the race.
"""

from __future__ import annotations

import pytest

from hankoflow import names as n
from hankoflow.models import Email
from hankoflow.services import accounts
from tests.concurrency import run_concurrently

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]


def test_two_concurrent_deletes_cannot_remove_both_last_addresses(profile_session, account_factory):
    # Passcode login only (no password, no passkey) and no primary marker: each address is
    # deletable while the other remains, so only one of the two deletes may succeed.
    account = account_factory("first@example.com")
    accounts.add_email(account, "second@example.com", verified=True)
    Email.objects.filter(account=account).update(is_primary=False)
    tabs = [profile_session(account=account), profile_session(account=account)]
    states = [tab.start() for tab in tabs]
    ids = [
        str(Email.objects.get(address=a).pk) for a in ("first@example.com", "second@example.com")
    ]
    for state in states:
        allowed = state.body["actions"][n.ACTION_EMAIL_DELETE]["inputs"]["email_id"]
        assert sorted(item["value"] for item in allowed["allowed_values"]) == sorted(ids)

    def delete(tab, state, email_id):
        return lambda: tab.act(state, n.ACTION_EMAIL_DELETE, {"email_id": email_id})

    answers = run_concurrently(
        [
            delete(tab, state, email_id)
            for tab, state, email_id in zip(tabs, states, ids, strict=True)
        ],
        atomic=False,  # each step opens its own transaction, as a request does
    )
    assert sorted(answer.status for answer in answers) == [200, 403]
    assert Email.objects.filter(account=account).count() == 1
