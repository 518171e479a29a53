"""``password_login`` locks the account's row with the statement that loads it, and issuing the
session then takes no second lock: one statement less, and the session limit still holds when
one user signs in on many flows at once (security-checks SE-05)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test import Client, override_settings

from bench.wire import sent_statements
from hankoflow.models import Session
from hankoflow.services import accounts, jwks, sessions
from tests.concurrency import run_concurrently
from tests.services.test_lazy_transaction import PASSWORD, post, to_chooser

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only", "no_write_guesses"),
]

EMAIL = "jane@example.com"


def at_password(client: Client) -> dict:
    return post(client, to_chooser(client, EMAIL), "continue_to_password_login", {})


def test_the_account_is_locked_by_its_load_and_not_again(account_factory):
    account_factory(EMAIL, password=PASSWORD)
    client = Client()
    state = at_password(client)
    with sent_statements(connection) as sent:
        state = post(client, state, "password_login", {"password": PASSWORD})
    assert state["name"] == "success", state
    assert sent is not None
    locks = [s for s in sent if "FOR UPDATE" in s and '"hankoflow_account"' in s]
    assert len(locks) == 1 and 'FOR UPDATE OF a"' in locks[0], sent  # the trace quotes it
    assert not [s for s in sent if s.startswith('SELECT "id" FROM "hankoflow_account"')], sent


def test_signing_in_with_a_password_and_otherwise_at_once_keeps_the_session_limit(
    account_factory,
):
    """Password logins of one account already wait for each other on its attempt budget; a
    sign-in by another method (a passkey here: ``sessions.issue`` as its step calls it) waits
    for the row lock the password step took with the account's load."""
    account = account_factory(EMAIL, password=PASSWORD)
    jwks.signing_key()
    # Hanko's limiter allows 5 password tries a minute per address and IP: off, for 6 at once.
    hankoflow = {"SESSION": {"LIMIT": 2}, "RATE_LIMITER": {"ENABLED": False}}
    with override_settings(HANKOFLOW=hankoflow):
        pending = [(client, at_password(client)) for client in (Client() for _ in range(4))]

        def password(client: Client, state: dict):
            return lambda: post(client, state, "password_login", {"password": PASSWORD})["name"]

        def passkey():
            with transaction.atomic():
                sessions.issue(account, amr=["passkey"], env=None, remember_me=None)
            return "success"

        calls = [password(c, s) for c, s in pending] + [passkey] * 4
        names = run_concurrently(calls, atomic=False)
    assert names == ["success"] * 8
    assert Session.objects.filter(account=account).count() == 2


def test_locking_an_account_outside_a_transaction_is_refused(account_factory):
    account_factory(EMAIL)
    with pytest.raises(transaction.TransactionManagementError):
        accounts.find_by_email(EMAIL, lock=True)
    with transaction.atomic():
        assert accounts.find_by_email(EMAIL, lock=True).emails.all()[0].address == EMAIL
