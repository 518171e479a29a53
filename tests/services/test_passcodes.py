"""Email passcodes (platform.md §7.2, flow-api.md §4.0.2.11, security-checks PC-01…PC-08)."""

from __future__ import annotations

import hmac
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from hankoflow import clock
from hankoflow.models import Account, AttemptBudget, Passcode
from hankoflow.services import attempts, passcodes
from hankoflow.services.passcodes import VerifyResult

pytestmark = pytest.mark.django_db

OK = VerifyResult(ok=True)
INVALID = VerifyResult(ok=False)
MAX_REACHED = VerifyResult(ok=False, max_attempts_reached=True)
IP = "203.0.113.7"


@pytest.fixture
def account(account_factory) -> Account:
    return account_factory("jane@example.com")


def new(email: str = "jane@example.com", flow_id: str | None = None, account=None):
    return passcodes.issue(email=email, account=account, flow_id=flow_id or str(uuid.uuid4()))


def verify(passcode_id: str, code: str, ip: str = IP) -> VerifyResult:
    return passcodes.verify(passcode_id, code, ip=ip)


def wrong(code: str) -> str:
    return "999999" if code != "999999" else "000000"


# --- PC-01 generation and storage ---------------------------------------------------------------


def test_numeric_codes_are_six_digits_zero_padded(monkeypatch):
    monkeypatch.setattr(passcodes.secrets, "randbelow", lambda n: 42)
    assert passcodes.generate_code("numeric") == "000042"
    issued = new()
    assert issued.code == "000042"


def test_numeric_codes_draw_from_the_whole_range(monkeypatch):
    bounds = []
    real = passcodes.secrets.randbelow
    monkeypatch.setattr(passcodes.secrets, "randbelow", lambda n: bounds.append(n) or real(n))
    passcodes.generate_code()
    assert bounds == [10**6]


def test_digits_are_uniform_in_every_position():
    draws = [passcodes.generate_code() for _ in range(60_000)]
    for position in range(6):
        counts = Counter(code[position] for code in draws)
        expected = len(draws) / 10
        chi_square = sum((counts[str(d)] - expected) ** 2 / expected for d in range(10))
        assert chi_square < 45, (position, counts)  # 9 dof: p < 1e-6 for a fair source


@override_settings(HANKOFLOW={"EMAIL": {"PASSCODE_CHARSET": "alphanumeric"}})
def test_alphanumeric_codes_use_hankos_alphabet():
    codes = [new().code for _ in range(50)]
    assert all(len(code) == 6 for code in codes)
    assert set("".join(codes)) <= set(passcodes.ALPHANUMERIC)
    assert not set("01OIl") & set(passcodes.ALPHANUMERIC)
    assert len(passcodes.ALPHANUMERIC) == 57


def test_only_a_salted_keyed_hash_is_stored(account):
    first = passcodes.issue(email="  Jane@Example.COM ", account=account, flow_id=None)
    second = passcodes.issue(email="jane@example.com", account=None, flow_id=None)
    rows = {str(row.id): row for row in Passcode.objects.all()}
    row = rows[first.id]
    assert row.email == "jane@example.com"
    assert row.account == account and row.flow_id is None and row.tries == 0
    salt, _, digest = row.code_hash.partition("$")
    assert len(salt) == 32 and len(digest) == 64
    assert not row.code_hash.startswith(("bcrypt", "pbkdf2", "argon2"))
    for value in vars(row).values():
        assert first.code not in str(value)
    # The same code under another salt gives another hash.
    assert passcodes._digest(salt, first.code) == digest
    other_salt = rows[second.id].code_hash.partition("$")[0]
    assert passcodes._digest(other_salt, first.code) != digest
    assert first.code not in str(row)


# --- PC-02 lifetime -----------------------------------------------------------------------------


def test_default_lifetime_is_300_seconds(clock):
    issued = new()
    row = Passcode.objects.get(pk=issued.id)
    assert row.expires_at - row.created_at == timedelta(seconds=300)
    assert issued.expires_at == row.expires_at
    clock.advance(seconds=299)
    assert passcodes.is_usable(issued.id, "jane@example.com")
    clock.advance(seconds=2)  # TTL + 1 s
    assert not passcodes.is_usable(issued.id, "jane@example.com")
    assert verify(issued.id, issued.code) == INVALID


@override_settings(HANKOFLOW={"EMAIL": {"PASSCODE_TTL": 60}})
def test_lifetime_follows_the_setting(clock):
    issued = new()
    clock.advance(seconds=61)
    assert verify(issued.id, issued.code) == INVALID


# --- PC-03 single use ---------------------------------------------------------------------------


def test_right_code_works_once():
    issued = new()
    assert verify(issued.id, issued.code) == OK
    assert Passcode.objects.get(pk=issued.id).used_at is not None
    assert verify(issued.id, issued.code) == INVALID
    assert not passcodes.is_usable(issued.id, "jane@example.com")


@pytest.mark.parametrize("code", ["", "\x00" * 6, "\ud800", "1" * 10_000, " 123456 "])
def test_odd_codes_are_just_wrong(code):
    issued = new()
    assert verify(issued.id, code) == INVALID


def test_unknown_or_malformed_ids_fail():
    for passcode_id in (str(uuid.uuid4()), "not-a-uuid", "", "\x00"):
        assert verify(passcode_id, "123456") == INVALID


# --- PC-04 per-code cap -------------------------------------------------------------------------


def test_third_wrong_code_kills_the_passcode():
    issued = new()
    assert verify(issued.id, wrong(issued.code)) == INVALID
    assert verify(issued.id, wrong(issued.code)) == INVALID
    assert verify(issued.id, wrong(issued.code)) == MAX_REACHED
    # The right code afterwards still fails, as does anything else.
    assert verify(issued.id, issued.code) == MAX_REACHED
    assert verify(issued.id, wrong(issued.code)) == MAX_REACHED
    assert Passcode.objects.get(pk=issued.id).tries == passcodes.MAX_TRIES
    assert not passcodes.is_usable(issued.id, "jane@example.com")


def test_right_code_on_the_last_try_works():
    issued = new()
    verify(issued.id, wrong(issued.code))
    verify(issued.id, wrong(issued.code))
    assert verify(issued.id, issued.code) == OK


def test_attempt_is_counted_before_comparing(monkeypatch):
    issued = new()
    seen = []
    real = hmac.compare_digest

    def spy(a, b):
        seen.append(Passcode.objects.get(pk=issued.id).tries)
        return real(a, b)

    monkeypatch.setattr(passcodes.hmac, "compare_digest", spy)
    verify(issued.id, wrong(issued.code))
    assert seen == [1]
    row = Passcode.objects.get(pk=issued.id)
    assert (row.tries, row.used_at) == (1, None)  # a wrong code gives the consumption back


# --- PC-05 attempt budget per address, not reset by a resend ------------------------------------
# The rules themselves are tested in test_attempts.py; here: that passcodes use them.


def budget(network: str = attempts.ALL_NETWORKS) -> AttemptBudget:
    return AttemptBudget.objects.get(kind="passcode", subject="jane@example.com", network=network)


def test_resends_do_not_reset_the_attempt_budget(clock):
    clock.stop()
    compared = 0
    for _ in range(attempts.NETWORK_FREE + 5):
        issued = new("Jane@Example.com")  # a resend: new passcode, new flow even
        result = verify(issued.id, wrong(issued.code))
        compared += not result.max_attempts_reached
    assert compared == attempts.NETWORK_FREE
    # Even the right code of a fresh passcode is refused while the budget holds.
    issued = new("jane@example.com")
    assert verify(issued.id, issued.code) == MAX_REACHED
    assert passcodes.is_usable(issued.id, "jane@example.com")  # the code itself is untouched
    assert budget().failures == attempts.NETWORK_FREE
    # Once the wait has passed, a right code works and resets the counts.
    clock.advance(seconds=1)
    assert verify(issued.id, issued.code) == OK
    assert budget().failures == budget(attempts.network_of(IP)).failures == 0


def test_budget_is_per_address(clock):
    clock.stop()
    for _ in range(attempts.NETWORK_FREE):
        issued = new("jane@example.com")
        verify(issued.id, wrong(issued.code))
    other = new("john@example.com")
    assert verify(other.id, other.code) == OK


def test_success_resets_the_budget(clock):
    clock.stop()
    for _ in range(attempts.NETWORK_FREE - 1):
        issued = new()
        verify(issued.id, wrong(issued.code))
    issued = new()
    assert verify(issued.id, issued.code) == OK
    for _ in range(attempts.NETWORK_FREE):
        issued = new()
        assert verify(issued.id, wrong(issued.code)) == INVALID


def test_guesses_from_many_networks_hold_new_networks_not_known_ones(clock):
    """Ten wrong codes no longer lock the address out for anyone who knows it."""
    clock.stop()
    issued = new()
    assert verify(issued.id, issued.code, ip="198.51.100.20") == OK  # the person, at home
    for n in range(attempts.SUBJECT_FREE):
        issued = new()
        assert verify(issued.id, wrong(issued.code), ip=f"10.0.{n}.1") == INVALID
    issued = new()
    assert verify(issued.id, issued.code, ip="10.0.99.1") == MAX_REACHED
    assert verify(issued.id, issued.code, ip="198.51.100.21") == OK


def test_ceiling_across_networks_lifts_after_a_quiet_day(clock):
    clock.stop()
    AttemptBudget.objects.create(
        kind="passcode",
        subject="jane@example.com",
        network=attempts.ALL_NETWORKS,
        failures=attempts.CEILING,
        last_failure_at=clock.now(),
    )
    issued = new()
    assert verify(issued.id, issued.code) == MAX_REACHED
    clock.advance(hours=24)
    issued = new()
    assert verify(issued.id, wrong(issued.code)) == INVALID
    assert budget().failures == 1


def test_a_rival_using_the_code_first_is_not_a_failure(monkeypatch):
    """A rival consumed the code just before this request's count (on PostgreSQL a rival that
    is still at it holds the row lock, and this request waits for it: test_passcodes_race.py)."""
    issued = new()
    real = passcodes._count_try

    def rival_consumes_first(*args, **kwargs):
        Passcode.objects.filter(pk=issued.id).update(used_at=clock.now())
        return real(*args, **kwargs)

    monkeypatch.setattr(passcodes, "_count_try", rival_consumes_first)
    assert verify(issued.id, issued.code) == INVALID
    assert not AttemptBudget.objects.filter(subject="jane@example.com").exists()
    assert Passcode.objects.get(pk=issued.id).tries == 0


# --- PC-07 binding: newest code only ------------------------------------------------------------


def test_resend_in_the_same_flow_kills_the_previous_code():
    flow_id = str(uuid.uuid4())
    old = new(flow_id=flow_id)
    fresh = new(flow_id=flow_id)
    assert not passcodes.is_usable(old.id, "jane@example.com")
    assert verify(old.id, old.code) == INVALID
    assert verify(fresh.id, fresh.code) == OK


def test_other_flows_keep_their_codes():
    first = new(flow_id=str(uuid.uuid4()))
    new(flow_id=str(uuid.uuid4()))
    passcodes.issue(email="jane@example.com", account=None, flow_id=None)
    assert verify(first.id, first.code) == OK


def test_is_usable_checks_the_address():
    issued = new("jane@example.com")
    assert passcodes.is_usable(issued.id, " JANE@example.com")
    assert not passcodes.is_usable(issued.id, "john@example.com")
    assert not passcodes.is_usable(None, "jane@example.com")
    assert not passcodes.is_usable("garbage", "jane@example.com")


# --- PC-08 constant work --------------------------------------------------------------------------


def _spent_budget() -> tuple[str, str]:
    AttemptBudget.objects.create(
        kind="passcode",
        subject="spent@example.com",
        network=attempts.ALL_NETWORKS,
        failures=attempts.CEILING,
        last_failure_at=clock.now(),
    )
    issued = new("spent@example.com")
    return issued.id, issued.code


def _exhausted() -> tuple[str, str]:
    issued = new("tired@example.com")
    Passcode.objects.filter(pk=issued.id).update(tries=passcodes.MAX_TRIES)
    return issued.id, issued.code


def _expired() -> tuple[str, str]:
    issued = new()
    Passcode.objects.filter(pk=issued.id).update(expires_at=clock.now())
    return issued.id, issued.code


def _used() -> tuple[str, str]:
    issued = new()
    verify(issued.id, issued.code)
    return issued.id, issued.code


def _fresh_wrong() -> tuple[str, str]:
    issued = new()
    return issued.id, wrong(issued.code)


def _fresh_right() -> tuple[str, str]:
    issued = new()
    return issued.id, issued.code


@pytest.mark.parametrize(
    "case",
    [
        lambda: (str(uuid.uuid4()), "123456"),
        lambda: ("not-a-uuid", "123456"),
        _expired,
        _used,
        _exhausted,
        _spent_budget,
        _fresh_wrong,
        _fresh_right,
    ],
    ids=["unknown", "malformed", "expired", "used", "exhausted", "budget", "wrong", "right"],
)
def test_exactly_one_hmac_comparison_on_every_branch(case, monkeypatch):
    passcode_id, code = case()
    calls = []
    real = hmac.compare_digest

    def counting(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(passcodes.hmac, "compare_digest", counting)
    verify(passcode_id, code)
    assert len(calls) == 1
    assert all(len(a) == len(b) == 64 for a, b in calls)


# --- what a verification costs in SQL ------------------------------------------------------------


def _statement_kinds(run) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        run()
    control = ("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT")
    return [
        # PostgreSQL reads the attempt budget with a WITH that creates rows only when none exist.
        "SELECT" if q["sql"].startswith("WITH found AS (SELECT") else q["sql"].split(None, 1)[0]
        for q in captured.captured_queries
        if not q["sql"].startswith(control)
    ]


def test_a_right_code_on_a_clean_budget_is_counted_consumed_and_held_in_three_statements(clock):
    clock.stop()
    first = new()
    assert verify(first.id, first.code) == OK  # the address's budget rows exist from here on
    clock.advance(seconds=60)
    issued = new()
    kinds = _statement_kinds(lambda: verify(issued.id, issued.code))
    # one UPDATE counting the try, consuming the code and locking it; the budget (read, lock);
    # nothing written to the clean budget
    assert kinds == ["UPDATE", "SELECT", "SELECT"]
    row = Passcode.objects.get(pk=issued.id)
    assert (row.tries, row.used_at) == (1, clock())


def test_a_wrong_code_counts_the_try_and_the_budget(clock):
    clock.stop()
    issued = new()
    verify(issued.id, issued.code)
    issued = new()
    kinds = _statement_kinds(lambda: verify(issued.id, wrong(issued.code)))
    # the try counted (the passcode locked), the budget (read, lock), the consumption given
    # back, the budget's failure
    assert kinds == ["UPDATE", "SELECT", "SELECT", "UPDATE", "UPDATE"]
    assert Passcode.objects.get(pk=issued.id).tries == 1
    assert budget().failures == 1


# --- what a refused verification leaves -----------------------------------------------------------


def test_a_budget_that_refuses_leaves_the_passcode_untouched():
    passcode_id, code = _spent_budget()
    assert verify(passcode_id, code) == MAX_REACHED
    row = Passcode.objects.get(pk=passcode_id)
    assert (row.tries, row.used_at) == (0, None)


# --- whose passcode it is ------------------------------------------------------------------------


@pytest.mark.parametrize("in_flow", [False, True], ids=["no flow", "flow"])
def test_the_owner_is_looked_up_inside_the_insert(account, in_flow):
    flow_id = str(uuid.uuid4()) if in_flow else None
    issued = passcodes.issue(email="jane@example.com", account_id=str(account.pk), flow_id=flow_id)
    assert Passcode.objects.get(pk=issued.id).account_id == account.pk


@pytest.mark.parametrize("in_flow", [False, True], ids=["no flow", "flow"])
@pytest.mark.parametrize("account_id", [None, "", "not-a-uuid", str(uuid.uuid4())])
def test_an_owner_that_does_not_exist_leaves_the_passcode_without_one(account_id, in_flow):
    flow_id = str(uuid.uuid4()) if in_flow else None
    issued = passcodes.issue(email="jane@example.com", account_id=account_id, flow_id=flow_id)
    assert Passcode.objects.get(pk=issued.id).account_id is None


def test_issuing_outside_a_flow_is_one_insert(account):
    with CaptureQueriesContext(connection) as captured:
        passcodes.issue(email="jane@example.com", account_id=str(account.pk), flow_id=None)
    assert [q["sql"].split(None, 1)[0] for q in captured.captured_queries] == ["INSERT"]


@pytest.mark.usefixtures("postgres_only")
def test_issuing_in_a_flow_is_one_statement_on_postgresql(account):
    flow_id = str(uuid.uuid4())
    old = new(flow_id=flow_id)
    with CaptureQueriesContext(connection) as captured:
        fresh = passcodes.issue(email="jane@example.com", account_id=account.pk, flow_id=flow_id)
    # The older code killed and the new one inserted, with its owner, by one WITH ... INSERT.
    assert [q["sql"].split(None, 1)[0] for q in captured.captured_queries] == ["WITH"]
    assert not passcodes.is_usable(old.id, "jane@example.com")
    assert passcodes.is_usable(fresh.id, "jane@example.com")
    row = Passcode.objects.get(pk=fresh.id)
    assert (row.account_id, str(row.flow_id), row.tries, row.used_at) == (
        account.pk,
        flow_id,
        0,
        None,
    )
    assert row.expires_at - row.created_at == timedelta(seconds=300)
