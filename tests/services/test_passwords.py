"""Passwords service (hankoflow/services/passwords.py): security-checks PW-01, PW-02, PW-04…PW-06.

The timing test follows allauth's: instead of measuring time, a counting hasher proves that
every failing branch of ``check_login`` runs exactly one hash computation.
"""

from __future__ import annotations

import hashlib
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import BasePasswordHasher, identify_hasher, make_password
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils.crypto import constant_time_compare, get_random_string

from hankoflow import errors
from hankoflow.models import AttemptBudget
from hankoflow.services import accounts, attempts, passwords
from tests.flows.test_account_existence_work import shape

pytestmark = pytest.mark.django_db

User = get_user_model()
PASSWORD = "correct horse battery staple"


class CountingHasher(BasePasswordHasher):
    """A fast hasher that counts hash computations, whether by ``encode`` or ``verify``."""

    algorithm = "counting"
    computations = 0

    def _digest(self, password: str, salt: str) -> str:
        type(self).computations += 1
        return hashlib.sha256(f"{salt}${password}".encode()).hexdigest()

    def encode(self, password, salt):
        return f"{self.algorithm}${salt}${self._digest(password, salt)}"

    def decode(self, encoded):
        algorithm, salt, digest = encoded.split("$", 2)
        return {"algorithm": algorithm, "salt": salt, "hash": digest}

    def verify(self, password, encoded):
        decoded = self.decode(encoded)
        return constant_time_compare(decoded["hash"], self._digest(password, decoded["salt"]))

    def safe_summary(self, encoded):
        return {"algorithm": self.algorithm}

    def harden_runtime(self, password, encoded):
        pass


@pytest.fixture
def counting_hasher():
    hashers = [f"{__name__}.CountingHasher", "django.contrib.auth.hashers.MD5PasswordHasher"]
    with override_settings(PASSWORD_HASHERS=hashers):
        CountingHasher.computations = 0
        yield CountingHasher


def new_account(password: str | None = PASSWORD, *, email="alice@example.com"):
    account = accounts.create(
        uuid.uuid4(),
        email=email,
        email_verified=True,
        username=None,
        password_hash=passwords.hash_password(password) if password else None,
    )
    return accounts.get(account.id)  # fresh, as a flow step would load it


def deactivate(account) -> None:
    User.objects.filter(pk=account.user.pk).update(is_active=False)


# --- check_login --------------------------------------------------------------------------------


def _unknown():
    return None, PASSWORD


def _no_password():
    return new_account(None), PASSWORD


def _blank_password():
    account = new_account(None)
    User.objects.filter(pk=account.user.pk).update(password="")
    return accounts.get(account.id), ""


def _hash_of_a_removed_hasher():
    account = new_account(None)
    User.objects.filter(pk=account.user.pk).update(password="gone$1$abc")
    return accounts.get(account.id), PASSWORD


def _inactive_right_password():
    account = new_account()
    deactivate(account)
    return accounts.get(account.id), PASSWORD


def _inactive_wrong_password():
    account = new_account()
    deactivate(account)
    return accounts.get(account.id), "wrong password"


def _wrong_password():
    return new_account(), "wrong password"


FAILING_BRANCHES = [
    _unknown,
    _no_password,
    _blank_password,
    _hash_of_a_removed_hasher,
    _inactive_right_password,
    _inactive_wrong_password,
    _wrong_password,
]


@pytest.mark.parametrize("branch", FAILING_BRANCHES, ids=lambda f: f.__name__.strip("_"))
def test_the_hasher_runs_exactly_once_per_failing_branch(counting_hasher, branch):
    account, raw = branch()
    counting_hasher.computations = 0
    assert passwords.check_login(account, raw) is False
    assert counting_hasher.computations == 1


def test_the_hasher_runs_exactly_once_on_success(counting_hasher):
    account = new_account()
    counting_hasher.computations = 0
    assert passwords.check_login(account, PASSWORD) is True
    assert counting_hasher.computations == 1


def test_success_upgrades_an_outdated_hash(counting_hasher):
    account = new_account(None)
    md5 = make_password(PASSWORD, hasher="md5")
    User.objects.filter(pk=account.user.pk).update(password=md5)
    assert passwords.check_login(accounts.get(account.id), PASSWORD)
    stored = User.objects.get(pk=account.user.pk).password
    assert identify_hasher(stored).algorithm == "counting"
    assert passwords.check_login(accounts.get(account.id), PASSWORD)


def test_an_inactive_users_hash_is_not_upgraded(counting_hasher):
    account = new_account(None)
    md5 = make_password(PASSWORD, hasher="md5")
    User.objects.filter(pk=account.user.pk).update(password=md5, is_active=False)
    assert not passwords.check_login(accounts.get(account.id), PASSWORD)
    assert User.objects.get(pk=account.user.pk).password == md5


def test_passwords_are_not_truncated_or_case_folded():
    long_password = get_random_string(70)
    account = new_account(long_password)
    assert passwords.check_login(account, long_password)
    assert not passwords.check_login(account, long_password[:-1])
    assert not passwords.check_login(account, long_password.swapcase())


# --- verify_login: the attempt budget (PW-06) ----------------------------------------------------

IP = "203.0.113.7"


def login(account, raw: str, ip: str = IP, identifier: str = "alice@example.com"):
    return passwords.verify_login(account, raw, identifier=identifier, ip=ip)


def test_verify_login_counts_failures_and_a_success_resets_them(clock):
    clock.stop()
    account = new_account()
    assert login(account, "wrong password") == passwords.LoginCheck(ok=False)
    rows = AttemptBudget.objects.filter(kind="password", subject=str(account.pk))
    assert sorted(rows.values_list("network", "failures")) == [
        ("*", 1),
        ("203.0.113.0/24", 1),
    ]
    assert login(account, PASSWORD) == passwords.LoginCheck(ok=True)
    assert set(rows.values_list("failures", flat=True)) == {0}


def test_the_right_password_is_refused_while_the_budget_holds(clock):
    clock.stop()
    account = new_account()
    for _ in range(attempts.NETWORK_FREE):
        login(account, "wrong password")
    assert login(account, PASSWORD) == passwords.LoginCheck(ok=False, retry_after=1)
    clock.advance(seconds=1)
    assert login(account, PASSWORD) == passwords.LoginCheck(ok=True)


def _refused_known():
    account = new_account()
    for _ in range(attempts.NETWORK_FREE):
        login(account, "wrong password")
    return account


def _refused_unknown():
    for _ in range(attempts.NETWORK_FREE):
        login(None, "wrong password")
    return None


@pytest.mark.parametrize("branch", [_refused_known, _refused_unknown], ids=["known", "unknown"])
def test_the_hasher_runs_exactly_once_when_the_budget_refuses(counting_hasher, clock, branch):
    clock.stop()
    account = branch()
    counting_hasher.computations = 0
    check = login(account, PASSWORD)
    assert check == passwords.LoginCheck(ok=False, retry_after=1)
    assert counting_hasher.computations == 1


@pytest.mark.parametrize("refused", [False, True], ids=["checked", "refused"])
def test_known_and_unknown_identifiers_cost_the_same(counting_hasher, clock, refused):
    """The same SQL statements and hasher runs, once the network has met the account (PC-08)."""
    clock.stop()
    account = new_account()
    for _ in range(attempts.NETWORK_FREE if refused else 1):
        login(account, "wrong password")
        login(None, "wrong password", identifier="nobody@example.com")

    def work(target, identifier):
        counting_hasher.computations = 0
        with CaptureQueriesContext(connection) as captured:
            check = login(target, "wrong password", identifier=identifier)
        statements = [shape(query["sql"]) for query in captured.captured_queries]
        return check, statements, counting_hasher.computations

    known = work(account, "alice@example.com")
    assert known[0].retry_after == (1 if refused else 0)
    assert work(None, "nobody@example.com") == known


def test_no_rows_for_identifiers_without_an_account(clock):
    clock.stop()
    for n in range(attempts.SUBJECT_FREE + 5):
        login(None, "wrong password", ip=f"10.0.{n}.1", identifier=f"user{n % 3}@example.com")
    assert not AttemptBudget.objects.exists()


# --- hash_password / set_password ---------------------------------------------------------------


def test_hash_password_uses_the_default_hasher(counting_hasher):
    assert identify_hasher(passwords.hash_password(PASSWORD)).algorithm == "counting"


def test_set_password_creates_and_replaces():
    account = new_account(None)
    passwords.set_password(account, "first password 1")
    assert passwords.check_login(accounts.get(account.id), "first password 1")
    passwords.set_password(account, "second password 2")
    fresh = accounts.get(account.id)
    assert passwords.check_login(fresh, "second password 2")
    assert not passwords.check_login(fresh, "first password 1")


@pytest.mark.parametrize("raw", ["pässwörd with ümlauts", "emoji 🔑🔑 pass", "  spaces  kept  "])
def test_unicode_and_spaces_round_trip(raw):
    account = new_account(raw)
    assert passwords.check_login(account, raw)
    assert not passwords.check_login(account, raw.strip() + "x")


# --- new_password_errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", errors.VALUE_INVALID),
        ("short", errors.VALUE_INVALID),
        ("1234567", errors.VALUE_INVALID),  # 7 characters
        ("äöüäöüäö", None),  # 8 characters, 16 bytes
        ("a" * 72, None),
        ("a" * 73, errors.VALUE_TOO_LONG),
        ("€" * 24, None),  # 72 bytes
        ("€" * 25, errors.VALUE_TOO_LONG),  # 25 characters, 75 bytes
        ("a nice long passphrase", None),
    ],
)
def test_length_rules(raw, expected):
    assert passwords.new_password_errors(raw) == expected


def test_min_length_follows_the_setting():
    with override_settings(HANKOFLOW={"PASSWORD": {"MIN_LENGTH": 12}}):
        assert passwords.new_password_errors("eleven char") == errors.VALUE_INVALID
        assert passwords.new_password_errors("twelve chars") is None


def test_django_validators_give_value_invalid_with_a_cause():
    error = passwords.new_password_errors("password")
    assert error.code == errors.VALUE_INVALID.code
    assert error.message == errors.VALUE_INVALID.message
    assert "too common" in error.cause


def test_too_short_is_reported_before_the_validators():
    assert passwords.new_password_errors("passwd") == errors.VALUE_INVALID  # no cause


def test_several_validator_messages_are_joined():
    validators = [
        {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
        {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    ]
    with override_settings(AUTH_PASSWORD_VALIDATORS=validators):
        error = passwords.new_password_errors("12345678")
    assert error.code == errors.VALUE_INVALID.code
    assert "; " in error.cause
    assert "too common" in error.cause and "entirely numeric" in error.cause


def test_no_validators_configured():
    with override_settings(AUTH_PASSWORD_VALIDATORS=[]):
        assert passwords.new_password_errors("password") is None


def test_similarity_to_the_accounts_email():
    account = new_account(email="johnathan.smithers@example.com")
    error = passwords.new_password_errors("johnathan.smithers", account=account)
    assert error is not None and "similar" in error.cause


def test_similarity_to_the_sign_up_email_before_the_account_exists():
    error = passwords.new_password_errors(
        "johnathan.smithers", email="johnathan.smithers@example.com"
    )
    assert error is not None and "similar" in error.cause
    assert passwords.new_password_errors("johnathan.smithers") is None


def test_similarity_to_the_hankoflow_username_whatever_the_user_model():
    account = new_account(email="someone@example.com")
    accounts.set_username(account, "maximiliana")
    error = passwords.new_password_errors("maximiliana1", account=account)
    assert error is not None and "similar" in error.cause
    signup = passwords.new_password_errors("maximiliana1", username="maximiliana")
    assert signup is not None and "similar" in signup.cause


def test_validation_does_not_touch_the_accounts_user():
    account = new_account(email="someone@example.com")
    accounts.set_username(account, "maximiliana")
    before = {f.attname: getattr(account.user, f.attname) for f in User._meta.concrete_fields}
    passwords.new_password_errors("a fine passphrase", account=account)
    after = {f.attname: getattr(account.user, f.attname) for f in User._meta.concrete_fields}
    assert before == after
