"""The bench's SQL count for Hanko's passcode login chain (``python -m bench.queries``), as
tests: each step within its budget below (transaction control not counted). They count
queries, never time. ``slow``: run by ``bin/test`` (on PostgreSQL) and CI.
"""

import pytest

from bench.queries import PASSCODE_CHAIN, PASSCODE_PREFIX, count_queries

# Measured on PostgreSQL (issue 16), the bench's user signing in by passcode for the first time:
#   POST /login: 1 (INSERT flow)
#   register_client_capabilities: 2 (SELECT ... FOR UPDATE flow, UPDATE flow)
#   continue_with_login_identifier: 3 (flow; the account's id and facts; UPDATE flow)
#   continue_to_passcode_confirmation: 6 (flow; one WITH ... INSERT killing the flow's older
#       codes and inserting the new one with its owner; INSERT outbox; UPDATE flow; after the
#       commit, the send: the outbox row claimed with its passcode's state in one SELECT ...
#       FOR UPDATE, UPDATE it as sent)
#   verify_passcode: 13 (flow; one UPDATE ... RETURNING counting the try and consuming the
#       code; the address's attempt budget, created on this first sign-in and reset by its
#       success; what the success hook and the session need, then UPDATE flow), plus a margin
#       of 1: the session's part is another area's.
PASSCODE_CHAIN_BUDGET = {
    "POST /login (init)": 1,
    "register_client_capabilities": 2,
    "continue_with_login_identifier": 3,
    # + 1 on PostgreSQL: a step that writes locks its flow with its first statement, after an
    # unlocked read (services.lazy_transaction), so light steps need no transaction at all.
    "continue_to_passcode_confirmation": 6 + 1,
    "verify_passcode": 13 + 1,
}


def kinds(statements: list[str], table: str) -> list[str]:
    return [s.split(None, 1)[0] for s in statements if f'"{table}"' in s]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # the step's own transaction, as on a server
@pytest.mark.usefixtures("postgres_only")
def test_passcode_login_chain_sql_statement_counts():
    steps = {step.name: step for step in count_queries()}
    names = ["POST /login (init)"] + [action for action, _, _ in PASSCODE_CHAIN]
    assert names == list(PASSCODE_CHAIN_BUDGET)

    for name in names:
        step = steps[PASSCODE_PREFIX + name]
        assert step.status == 200, f"{name} did not answer 200 with the expected state"
        budget = PASSCODE_CHAIN_BUDGET[name]
        assert len(step.statements) <= budget, (
            f"{name}: {len(step.statements)} statements > {budget}:\n" + "\n".join(step.sql)
        )

    send = steps[PASSCODE_PREFIX + "continue_to_passcode_confirmation"].statements
    owner = [s for s in send if s.startswith("SELECT") and '"hankoflow_account"' in s]
    assert owner == []  # the owner is looked up inside the INSERT
    assert kinds(send, "hankoflow_outbox_email") == ["INSERT", "SELECT", "UPDATE"]
    assert [s.split(None, 1)[0] for s in send if s.startswith("WITH")] == ["WITH"]
    verify = steps[PASSCODE_PREFIX + "verify_passcode"].statements
    assert kinds(verify, "hankoflow_passcode") == ["UPDATE"]
