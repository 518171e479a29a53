"""Email passcodes (platform.md §7.2, flow-api.md §4.0.2.11, security-checks PC-01…PC-08)."""

from __future__ import annotations

import hmac
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.utils import timezone

from hankoflow.models import Account, Email, Passcode, PasscodeFailures
from hankoflow.services import passcodes
from hankoflow.services.passcodes import VerifyResult

pytestmark = pytest.mark.django_db

OK = VerifyResult(ok=True)
INVALID = VerifyResult(ok=False)
MAX_REACHED = VerifyResult(ok=False, max_attempts_reached=True)


@pytest.fixture
def account() -> Account:
    user = get_user_model().objects.create(username=f"user-{uuid.uuid4().hex[:8]}")
    account = Account.objects.create(user=user)
    Email.objects.create(account=account, address="jane@example.com", is_primary=True)
    return account


def new(email: str = "jane@example.com", flow_id: str | None = None, account=None):
    return passcodes.issue(email=email, account=account, flow_id=flow_id or str(uuid.uuid4()))


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
    assert passcodes.verify(issued.id, issued.code) == INVALID


@override_settings(HANKOFLOW={"EMAIL": {"PASSCODE_TTL": 60}})
def test_lifetime_follows_the_setting(clock):
    issued = new()
    clock.advance(seconds=61)
    assert passcodes.verify(issued.id, issued.code) == INVALID


# --- PC-03 single use ---------------------------------------------------------------------------


def test_right_code_works_once():
    issued = new()
    assert passcodes.verify(issued.id, issued.code) == OK
    assert Passcode.objects.get(pk=issued.id).used_at is not None
    assert passcodes.verify(issued.id, issued.code) == INVALID
    assert not passcodes.is_usable(issued.id, "jane@example.com")


@pytest.mark.parametrize("code", ["", "\x00" * 6, "\ud800", "1" * 10_000, " 123456 "])
def test_odd_codes_are_just_wrong(code):
    issued = new()
    assert passcodes.verify(issued.id, code) == INVALID


def test_unknown_or_malformed_ids_fail():
    for passcode_id in (str(uuid.uuid4()), "not-a-uuid", "", "\x00"):
        assert passcodes.verify(passcode_id, "123456") == INVALID


# --- PC-04 per-code cap -------------------------------------------------------------------------


def test_third_wrong_code_kills_the_passcode():
    issued = new()
    assert passcodes.verify(issued.id, wrong(issued.code)) == INVALID
    assert passcodes.verify(issued.id, wrong(issued.code)) == INVALID
    assert passcodes.verify(issued.id, wrong(issued.code)) == MAX_REACHED
    # The right code afterwards still fails, as does anything else.
    assert passcodes.verify(issued.id, issued.code) == MAX_REACHED
    assert passcodes.verify(issued.id, wrong(issued.code)) == MAX_REACHED
    assert Passcode.objects.get(pk=issued.id).tries == passcodes.MAX_TRIES
    assert not passcodes.is_usable(issued.id, "jane@example.com")


def test_right_code_on_the_last_try_works():
    issued = new()
    passcodes.verify(issued.id, wrong(issued.code))
    passcodes.verify(issued.id, wrong(issued.code))
    assert passcodes.verify(issued.id, issued.code) == OK


def test_attempt_is_counted_before_comparing(monkeypatch):
    issued = new()
    seen = []
    real = hmac.compare_digest

    def spy(a, b):
        seen.append(Passcode.objects.get(pk=issued.id).tries)
        return real(a, b)

    monkeypatch.setattr(passcodes.hmac, "compare_digest", spy)
    passcodes.verify(issued.id, wrong(issued.code))
    assert seen == [1]


# --- PC-05 failure budget per address, not reset by a resend ------------------------------------


def test_resends_do_not_reset_the_failure_budget(clock):
    compared = 0
    for _ in range(passcodes.ACCOUNT_BUDGET + 5):
        issued = new("Jane@Example.com")  # a resend: new passcode, new flow even
        result = passcodes.verify(issued.id, wrong(issued.code))
        compared += not result.max_attempts_reached
    assert compared == passcodes.ACCOUNT_BUDGET
    # Even the right code of a fresh passcode is refused while the budget is spent.
    issued = new("jane@example.com")
    assert passcodes.verify(issued.id, issued.code) == MAX_REACHED
    assert passcodes.is_usable(issued.id, "jane@example.com")  # the code itself is untouched
    failures = PasscodeFailures.objects.get(email="jane@example.com")
    assert failures.window_failures == passcodes.ACCOUNT_BUDGET
    # Once the window has passed, a right code works again and resets the counters.
    clock.advance(minutes=15, seconds=1)
    issued = new("jane@example.com")
    assert passcodes.verify(issued.id, issued.code) == OK
    failures.refresh_from_db()
    assert (failures.consecutive, failures.window_failures) == (0, 0)


def test_budget_is_per_address():
    for _ in range(passcodes.ACCOUNT_BUDGET):
        issued = new("jane@example.com")
        passcodes.verify(issued.id, wrong(issued.code))
    other = new("john@example.com")
    assert passcodes.verify(other.id, other.code) == OK


def test_success_resets_the_budget():
    for _ in range(passcodes.ACCOUNT_BUDGET - 1):
        issued = new()
        passcodes.verify(issued.id, wrong(issued.code))
    issued = new()
    assert passcodes.verify(issued.id, issued.code) == OK
    for _ in range(passcodes.ACCOUNT_BUDGET - 1):
        issued = new()
        assert passcodes.verify(issued.id, wrong(issued.code)) == INVALID


def test_consecutive_ceiling_lifts_after_a_quiet_day(clock):
    now = timezone.now()
    PasscodeFailures.objects.create(
        email="jane@example.com",
        consecutive=passcodes.MAX_CONSECUTIVE,
        window_failures=0,
        window_started_at=now - timedelta(hours=1),
    )
    issued = new()
    assert passcodes.verify(issued.id, issued.code) == MAX_REACHED
    clock.advance(hours=24, seconds=1)
    issued = new()
    assert passcodes.verify(issued.id, wrong(issued.code)) == INVALID
    assert PasscodeFailures.objects.get(email="jane@example.com").consecutive == 1


# --- PC-07 binding: newest code only ------------------------------------------------------------


def test_resend_in_the_same_flow_kills_the_previous_code():
    flow_id = str(uuid.uuid4())
    old = new(flow_id=flow_id)
    fresh = new(flow_id=flow_id)
    assert not passcodes.is_usable(old.id, "jane@example.com")
    assert passcodes.verify(old.id, old.code) == INVALID
    assert passcodes.verify(fresh.id, fresh.code) == OK


def test_other_flows_keep_their_codes():
    first = new(flow_id=str(uuid.uuid4()))
    new(flow_id=str(uuid.uuid4()))
    passcodes.issue(email="jane@example.com", account=None, flow_id=None)
    assert passcodes.verify(first.id, first.code) == OK


def test_is_usable_checks_the_address():
    issued = new("jane@example.com")
    assert passcodes.is_usable(issued.id, " JANE@example.com")
    assert not passcodes.is_usable(issued.id, "john@example.com")
    assert not passcodes.is_usable(None, "jane@example.com")
    assert not passcodes.is_usable("garbage", "jane@example.com")


# --- PC-08 constant work --------------------------------------------------------------------------


def _spent_budget() -> tuple[str, str]:
    for _ in range(passcodes.ACCOUNT_BUDGET):
        issued = new("spent@example.com")
        passcodes.verify(issued.id, wrong(issued.code))
    issued = new("spent@example.com")
    return issued.id, issued.code


def _exhausted() -> tuple[str, str]:
    issued = new("tired@example.com")
    Passcode.objects.filter(pk=issued.id).update(tries=passcodes.MAX_TRIES)
    return issued.id, issued.code


def _expired() -> tuple[str, str]:
    issued = new()
    Passcode.objects.filter(pk=issued.id).update(expires_at=timezone.now())
    return issued.id, issued.code


def _used() -> tuple[str, str]:
    issued = new()
    passcodes.verify(issued.id, issued.code)
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
    passcodes.verify(passcode_id, code)
    assert len(calls) == 1
    assert all(len(a) == len(b) == 64 for a, b in calls)
