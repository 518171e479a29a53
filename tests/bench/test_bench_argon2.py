"""``bin/bench --argon2`` (bench/argon2.py): its scenarios accept the answers hankoflow really
gives (walked through Django's test client, the hasher of the test settings), and its targets
are ratios with PASS or FAIL. No server, no timing."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from django.test import Client

from bench import argon2, run
from bench.seed import PASSWORD

JSON = "application/json"


def walk(client: Client, email: str) -> tuple[dict, bytes]:
    """The flow at login_password for ``email``, as bench.argon2.walk_load leaves it."""
    state = client.post("/login", content_type=JSON, headers={"Accept": JSON}).json()
    for action, inputs in (
        ("register_client_capabilities", run.CAPABILITIES_BODY),
        ("continue_with_login_identifier", {"email": email}),
        ("continue_to_password_login", {}),
    ):
        body = {"input_data": inputs, "csrf_token": state["csrf_token"]}
        answer = client.post(state["actions"][action]["href"], body, content_type=JSON)
        state = answer.json()
    assert state["name"] == "login_password"
    return state, answer.content


def password_login(client: Client, key: str, state: dict) -> tuple[int, bytes, run.Load]:
    load = argon2.password_step_load(key, [state], PASSWORD)
    assert load.make is not None
    method, path, body = load.make(0)
    answer = client.generic(method, path, body, content_type=JSON)
    return answer.status_code, answer.content, load


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["I", "J", "K"])
def test_each_password_scenario_accepts_the_answer_it_measures(key, account_factory):
    if key == "I":
        email = account_factory(password=PASSWORD).emails.get().address
    elif key == "K":
        email = account_factory(password=None).emails.get().address
    else:
        email = "nobody@example.com"
    client = Client()
    state, _ = walk(client, email)

    status, body, load = password_login(client, key, state)

    assert load.check(status, body), (status, body[:300])
    # The other scenarios' checks refuse it: a failing login is never counted as a login.
    others = [other for other in "IJK" if (other == "I") != (key == "I")]
    for other in others:
        assert not argon2.password_step_load(other, [state], PASSWORD).check(status, body)


def result(rate: float, failed: int = 0) -> run.LoadResult:
    return run.LoadResult("x", int(rate * 10), failed, 10.0, [0.1], Counter())


def test_targets_compare_the_login_and_the_failing_logins_with_the_hasher():
    best = {"H": result(10.0), "I": result(9.5), "J": result(9.8), "K": result(4.0)}

    lines = argon2.targets(best, {key: [value] for key, value in best.items()})

    assert lines[0] == "Target: I/H argon2 password_login vs the hasher alone 0.95 (>= 0.9) PASS"
    assert (
        "Target: H/J dummy-hash path (unknown address) 1.02x a real verify "
        "(< 1.5: one hash, never two) PASS" in lines
    )
    # 2.5 verifies' time per failing answer: a second hash somewhere.
    assert (
        "Target: H/K dummy-hash path (user without password) 2.50x a real verify "
        "(< 1.5: one hash, never two) FAIL" in lines
    )
    assert "  K: 2.38x the time of a real login (I)" in lines


def test_a_target_with_failed_answers_says_it_is_unreliable():
    best = {"H": result(10.0), "I": result(8.0, failed=3), "J": result(9.0), "K": result(9.0)}

    lines = argon2.targets(best, {key: [value] for key, value in best.items()})

    assert lines[0].startswith("Target: I/H argon2 password_login vs the hasher alone 0.80")
    assert "FAIL (unreliable: H or I had failed answers)" in lines[0]


def test_walked_states_survive_the_json_round_trip_of_the_walk(account_factory, db):
    # walk_load keeps each state as the JSON bytes the server sent; the step load reads them.
    email = account_factory(password=PASSWORD).emails.get().address
    state, raw = walk(Client(), email)
    assert json.loads(raw) == state
