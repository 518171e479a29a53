"""A one-time token redeemed twice at the same instant works once (PostgreSQL only: SQLite
serialises writers and would hide the race)."""

import pytest

from hankoflow.services.thirdparty import tokens
from tests.concurrency import run_concurrently

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]


def test_concurrent_exchanges_of_one_token_succeed_once(account_factory):
    account = account_factory("race@example.com")
    value = tokens.issue(account, None, user_created=False, code_verifier="")

    def exchange():
        return tokens.consume(value, None)

    results = run_concurrently([exchange] * 4, returning=tokens.TokenInvalid)
    assert sum(isinstance(r, tokens.Exchanged) for r in results) == 1
    assert sum(isinstance(r, tokens.TokenInvalid) for r in results) == 3
