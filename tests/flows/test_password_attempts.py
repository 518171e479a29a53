"""Password guessing through the login flow: the account's attempt budget (security-checks PW-06).

Guesses come from several client networks (``REMOTE_ADDR``) against one account. Time stands
still (``clock.stop()``) and moves only by ``clock.advance``, so every wait is exact. A guess
that reaches the password check answers 400 ``value_invalid_error``; one the budget refuses
answers 429 ``rate_limit_exceeded`` with ``retry_after``.
"""

from __future__ import annotations

import pytest
from django.test import Client

from hankoflow.models import AttemptBudget
from hankoflow.services import attempts
from hankoflow.testing.client import FlowClient, FlowResponse

EMAIL = "jane@example.com"
PASSWORD = "a long enough password"
HOME = "198.51.100.20"


@pytest.fixture(autouse=True)
def _still(clock):
    clock.stop()


@pytest.fixture
def jane(account_factory):
    return account_factory(EMAIL, password=PASSWORD)


def network(n: int) -> str:
    return f"10.{n // 256}.{n % 256}.9"


def home(n: int) -> str:
    """The n-th address of the person's home network (a new address, a fresh per-IP limit)."""
    return f"198.51.100.{20 + n}"


def password_state(client: FlowClient, email: str = EMAIL) -> FlowResponse:
    state = client.start("login")
    state = client.act(state, "register_client_capabilities", {"webauthn_available": False})
    state = client.act(state, "continue_with_login_identifier", {"email": email})
    return client.act(state, "continue_to_password_login")


def guess(client: FlowClient, state: FlowResponse, password: str, address: str) -> FlowResponse:
    client.client.defaults["REMOTE_ADDR"] = address
    return client.act(state, "password_login", {"password": password})


def checked(answer: FlowResponse) -> bool:
    if answer.status == 429:
        assert answer.error_code == "rate_limit_exceeded"
        assert answer.body["payload"]["retry_after"] > 0
        return False
    assert answer.input_error("password_login", "password") == "value_invalid_error"
    return True


def test_thirty_wrong_passwords_from_six_networks_are_not_all_checked(flow_client, jane):
    state = password_state(flow_client)
    answers = []
    for n in range(30):
        state = guess(flow_client, state, f"guess {n}", network(n % 6))
        answers.append(checked(state))
    assert answers.count(True) == attempts.SUBJECT_FREE
    assert answers[: attempts.SUBJECT_FREE] == [True] * attempts.SUBJECT_FREE
    # The right password from a seventh network is refused too while the budget holds.
    refused = guess(flow_client, state, PASSWORD, network(6))
    assert refused.status == 429 and refused.body["payload"]["retry_after"] == 1


def test_the_right_password_is_refused_while_the_budget_holds(flow_client, jane, clock):
    state = password_state(flow_client)
    for n in range(attempts.NETWORK_FREE):
        state = guess(flow_client, state, f"guess {n}", home(n))
        assert checked(state)
    refused = guess(flow_client, state, PASSWORD, home(10))
    assert refused.status == 429 and refused.state == "login_password"
    assert refused.body["payload"]["retry_after"] == 1
    clock.advance(seconds=1)
    done = guess(flow_client, refused, PASSWORD, home(11))
    assert done.state == "success"


def test_a_success_from_one_network_does_not_clear_anothers_wait(flow_client, jane):
    attacker = password_state(flow_client)
    for n in range(attempts.NETWORK_FREE):
        attacker = guess(flow_client, attacker, f"guess {n}", f"192.0.2.{30 + n}")
        assert checked(attacker)
    attacker = guess(flow_client, attacker, "another guess", "192.0.2.40")
    assert not checked(attacker)

    person = FlowClient(Client())
    assert guess(person, password_state(person), PASSWORD, HOME).state == "success"

    again = guess(flow_client, attacker, PASSWORD, "192.0.2.41")  # the same /24
    assert again.status == 429 and again.body["payload"]["retry_after"] == 1


def test_attackers_on_new_networks_cannot_lock_the_person_out_of_a_known_one(
    flow_client, jane, clock
):
    person = FlowClient(Client())
    assert guess(person, password_state(person), PASSWORD, HOME).state == "success"

    attacker = password_state(flow_client)
    n = 0
    while AttemptBudget.objects.get(subject=str(jane.pk), network="*").failures < attempts.CEILING:
        attacker = guess(flow_client, attacker, f"guess {n}", network(n))
        if not checked(attacker):
            clock.advance(seconds=attacker.body["payload"]["retry_after"])
        n += 1
    held = guess(flow_client, attacker, PASSWORD, network(n + 1))
    assert held.status == 429
    assert held.body["payload"]["retry_after"] == 24 * 3600  # a new network waits a day

    assert guess(person, password_state(person), PASSWORD, HOME).state == "success"


def test_an_unknown_email_gets_the_same_answers(flow_client, jane, clock):
    known = password_state(flow_client)
    made_up = password_state(flow_client, "nobody@example.com")
    answers = {"known": [], "made_up": []}
    for n in range(20):  # five per address: under the per-IP limit
        known = guess(flow_client, known, f"guess {n}", network(n % 4))
        made_up = guess(flow_client, made_up, f"guess {n}", network(n % 4))
        answers["known"].append((known.status, known.body.get("payload", {}).get("retry_after")))
        answers["made_up"].append(
            (made_up.status, made_up.body.get("payload", {}).get("retry_after"))
        )
        clock.advance(seconds=2)
    assert answers["made_up"] == answers["known"]
    assert {status for status, _ in answers["known"]} == {400, 429}
