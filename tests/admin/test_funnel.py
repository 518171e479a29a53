"""The sign-in funnel page: per flow and state, flows that entered, moved on, failed and were
abandoned, and passkey adoption, counted by the database in a fixed number of queries."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hankoflow import clock
from hankoflow.admin import funnel
from hankoflow.models import Account, Flow
from hankoflow.services import audit
from tests.admin.conftest import add_credential

URL = "/admin/hankoflow/funnel/"


def step(action, src, dst, error=None):
    return {"at": "", "action": action, "from": src, "to": dst, "inputs": [], "error": error}


def make_flow(history, *, name="login", expired=False):
    now = clock.now()
    return Flow.objects.create(
        id=uuid.uuid4(),
        name=name,
        state=history[-1]["to"],
        stash={},
        csrf_token_hash="x",
        history=history,
        expires_at=now - timedelta(seconds=1) if expired else now + timedelta(hours=1),
    )


START = step(None, None, "preflight")
CAPS = step("register_client_capabilities", "preflight", "login_init")
IDENT = step("continue_with_login_identifier", "login_init", "passcode_confirmation")
WRONG = step(
    "verify_passcode", "passcode_confirmation", "passcode_confirmation", "passcode_invalid"
)
DONE = step("verify_passcode", "passcode_confirmation", "success")


@pytest.fixture
def flows(db):
    make_flow([START, CAPS, IDENT, WRONG, WRONG, DONE])  # two wrong codes, then in
    make_flow([START, CAPS, IDENT, DONE])
    make_flow([START, CAPS, IDENT, WRONG], expired=True)  # gave up after a wrong code
    make_flow([START, CAPS], expired=True)  # never typed an address
    make_flow([START, CAPS])  # still on the page
    make_flow([START], name="registration", expired=True)
    old = make_flow([START, CAPS])
    Flow.objects.filter(pk=old.pk).update(created_at=clock.now() - timedelta(days=30))


@pytest.fixture
def logins(account_factory):
    with_passkey = account_factory("a@example.com")
    add_credential(with_passkey)
    security_key_only = account_factory("b@example.com")
    add_credential(security_key_only, mfa_only=True)
    account_factory("c@example.com")
    for method in ["passkey", "passkey", "passcode", "password"]:
        audit.record(audit.LOGIN_SUCCESS, account=with_passkey, details={"login_method": method})
    audit.record(audit.LOGIN_FAILURE, account=with_passkey, details={"login_method": "password"})
    # A re-authentication in the profile is no sign-in; an entry without details still is one.
    audit.record(
        audit.LOGIN_SUCCESS,
        account=with_passkey,
        details={"login_method": "password", "context": "reauthentication"},
    )
    audit.record(audit.LOGIN_SUCCESS, account=with_passkey)


def test_the_numbers_of_a_handful_of_flows(flows, logins):
    start = clock.now() - timedelta(days=1)
    result = funnel.compute(start, clock.now() + timedelta(days=1))
    rows = {(r.flow, r.state): r for r in result.states}

    preflight = rows[("login", "preflight")]
    assert (preflight.entered, preflight.moved_on, preflight.abandoned) == (5, 5, 0)
    login_init = rows[("login", "login_init")]
    assert (login_init.entered, login_init.moved_on) == (5, 3)
    assert (login_init.in_progress, login_init.abandoned) == (1, 1)
    confirmation = rows[("login", "passcode_confirmation")]
    assert (confirmation.entered, confirmation.moved_on) == (3, 2)
    assert confirmation.failed == {"passcode_invalid": 2}  # flows, not wrong codes
    assert (confirmation.in_progress, confirmation.abandoned) == (0, 1)
    success = rows[("login", "success")]
    assert (success.entered, success.abandoned, success.in_progress) == (2, 0, 0)
    assert rows[("registration", "preflight")].abandoned == 1

    assert result.logins_by_method == {"passkey": 2, "passcode": 1, "password": 1, "unknown": 1}
    assert ("passkey", 2, 0.4) in result.login_shares()
    assert (result.accounts, result.accounts_with_passkey) == (3, 1)


def test_the_period_leaves_older_flows_out(flows):
    result = funnel.compute(clock.now() - timedelta(days=60), clock.now() - timedelta(days=7))
    [row] = [r for r in result.states if r.state == "login_init"]
    assert (row.entered, row.in_progress) == (1, 1)
    assert not result.logins_by_method


def test_the_query_count_does_not_grow_with_the_flows(flows, logins):
    start, end = clock.now() - timedelta(days=1), clock.now() + timedelta(days=1)
    with CaptureQueriesContext(connection) as few:
        funnel.compute(start, end)
    for _ in range(20):
        make_flow([START, CAPS, IDENT, WRONG])
    with CaptureQueriesContext(connection) as many:
        funnel.compute(start, end)
    assert len(few) == len(many) == 4


def test_the_page_shows_the_funnel(admin_client, flows, logins, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        response = admin_client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Sign-in funnel" in page and "passcode_invalid: 2" in page
    assert "Accounts with a passkey: 1 of 3 (33 %)" in page


def test_a_malformed_period_falls_back_to_the_last_week(admin_client, flows):
    response = admin_client.get(URL, {"start": "yesterday", "end": "2026-13-45"})
    assert response.status_code == 200


def test_the_view_permissions_are_needed(client, viewer_client, db):
    from django.contrib.auth import get_user_model

    assert viewer_client.get(URL).status_code == 200  # view_flow and view_auditlogentry
    staff = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.get(URL).status_code == 403
    assert Account.objects.count() == 0
