"""One invitation code redeemed in two browsers that finish at the same instant, on PostgreSQL:
one account, one ``invitation_used`` (issue 15).

Each step runs in its own thread, connection and transaction, as concurrent requests do; SQLite
serialises writers and would hide the race.
"""

from __future__ import annotations

import pytest
from django.test import TestCase

from hankoflow import names as n
from hankoflow.models import Account, AuditLogEntry, Invitation
from hankoflow.services import invitations
from hankoflow.testing.client import FlowClient
from tests.concurrency import run_concurrently

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]

EMAIL = "invitee@example.com"
PASSWORD = "a long enough password"


def to_last_step(client: FlowClient, code: str):
    start = client.start(n.FLOW_INVITED_REGISTRATION)
    state = client.act(start, "register_client_capabilities", {"webauthn_available": False})
    state = client.act(state, "redeem_invitation", {"email": EMAIL, "code": code})
    state = client.act(state, "register_password", {"new_password": PASSWORD})
    assert state.state == n.STATE_MFA_METHOD_CHOOSER
    return state


def test_two_browsers_finishing_with_one_code_make_one_account():
    with TestCase.captureOnCommitCallbacks(execute=True):
        created = invitations.create(EMAIL, invited_by="admin")
    browsers = [FlowClient(validate=False), FlowClient(validate=False)]
    states = [to_last_step(browser, created.code) for browser in browsers]

    answers = run_concurrently(
        [
            lambda browser=browser, state=state: browser.act(state, "skip")
            for browser, state in zip(browsers, states, strict=True)
        ],
        atomic=False,  # each step opens its own transaction, as a request does
    )

    assert sorted((a.status, a.state) for a in answers) == [
        (200, n.STATE_SUCCESS),
        (410, n.STATE_MFA_METHOD_CHOOSER),
    ]
    assert [a.error_code for a in answers if a.status == 410] == ["invitation_used"]
    account = Account.objects.get()
    assert Invitation.objects.get().account == account
    assert AuditLogEntry.objects.filter(type="user_created").count() == 1
    assert AuditLogEntry.objects.filter(type="invitation_accepted").count() == 1
