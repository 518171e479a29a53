"""A step costs the same whether the account exists or not (security-checks PC-08, ASVS 6.3.8).

Where the answer to a client is the same for a known and an unknown address, the server must do
the same work: the same SQL statements (same count, same shape once literals are masked), the
same password-hasher and HMAC calls, the same emails queued and sent. Measured per branch by
counting, never by timing. Existence hints (``PRIVACY.SHOW_ACCOUNT_EXISTENCE_HINTS``) and unknown
usernames are answered differently on purpose (flow-api.md §3.2) and are left out.
"""

from __future__ import annotations

import difflib
import hmac
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from django.contrib.auth import hashers
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from hankoflow.conf import settings as hankoflow_settings
from hankoflow.models import OutboxEmail
from hankoflow.services import accounts, crypto
from hankoflow.testing.client import FlowClient, FlowResponse

KNOWN = "jane@example.com"
UNKNOWN = "nobody@example.com"
PASSWORD = "a long enough password"
NO_WEBAUTHN = {"webauthn_available": False}

_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")
_LIST = re.compile(r"\((?:\s*\?\s*,)+\s*\?\s*\)")
_SAVEPOINT = re.compile(r'"s\w+_x\d+"')
_NULL_VALUE = re.compile(r"(?<!IS )(?<!NOT )\bNULL\b")  # a parameter, not ``IS NULL``
_CAST = re.compile(r"\?::\w+")  # psycopg types parameters (``?::uuid``), but not a None


def shape(sql: str) -> str:
    """The statement with its literals masked: what a timing observer could tell apart."""
    sql = _SAVEPOINT.sub('"sp"', sql)
    sql = _STRING.sub("?", sql)
    sql = _NUMBER.sub("?", sql)
    sql = _NULL_VALUE.sub("?", sql)
    sql = _CAST.sub("?", sql)
    return _LIST.sub("(?)", sql)


@dataclass
class Work:
    """What one request did on the server."""

    sql: list[str] = field(default_factory=list)
    calls: Counter = field(default_factory=Counter)
    outbox_kinds: list[str] = field(default_factory=list)
    sent: int = 0

    def comparable(self) -> tuple:
        # The kind of email differs on purpose (a code or an "attempted" notice); its number not.
        return self.sql, dict(self.calls), len(self.outbox_kinds), self.sent


@pytest.fixture
def measure(monkeypatch, mailoutbox) -> Callable[..., contextmanager]:
    """``with measure() as work: ...`` records the statements and the costly calls inside."""
    counter: Counter = Counter()

    def counting(name: str, function):
        def wrapper(*args, **kwargs):
            counter[name] += 1
            return function(*args, **kwargs)

        return wrapper

    for hasher in hashers.get_hashers():
        cls = type(hasher)
        monkeypatch.setattr(cls, "encode", counting("hasher.encode", cls.encode))
        monkeypatch.setattr(cls, "verify", counting("hasher.verify", cls.verify))
    monkeypatch.setattr(hmac, "new", counting("hmac.new", hmac.new))
    monkeypatch.setattr(hmac, "compare_digest", counting("hmac.compare", hmac.compare_digest))
    monkeypatch.setattr(crypto, "encrypt", counting("crypto.encrypt", crypto.encrypt))
    monkeypatch.setattr(crypto, "decrypt", counting("crypto.decrypt", crypto.decrypt))

    @contextmanager
    def run() -> Iterator[Work]:
        work = Work()
        counter.clear()
        rows_before = set(OutboxEmail.objects.values_list("pk", flat=True))
        sent_before = len(mailoutbox)
        with CaptureQueriesContext(connection) as captured:
            yield work
        work.sql = [shape(query["sql"]) for query in captured.captured_queries]
        work.calls = Counter(counter)
        new_rows = OutboxEmail.objects.exclude(pk__in=rows_before).order_by("created_at")
        work.outbox_kinds = list(new_rows.values_list("kind", flat=True))
        work.sent = len(mailoutbox) - sent_before

    return run


@pytest.fixture
def make_account(account_factory):
    def make(email: str, *, password: bool = True, username: str | None = None):
        return account_factory(email, password=PASSWORD if password else None, username=username)

    return make


def start(flow_client: FlowClient, flow: str) -> FlowResponse:
    return flow_client.act(flow_client.start(flow), "register_client_capabilities", NO_WEBAUTHN)


def same_work(
    measure,
    step: Callable[[FlowResponse, str], FlowResponse],
    prepare: Callable[[str], FlowResponse],
) -> tuple[Work, Work]:
    """``prepare(email)`` walks a new flow (not measured); ``step(state, email)`` is the measured
    request.

    Runs for the known and the unknown address; both answers and costs must match. A first pair
    warms what is cached per process (templates, translations, derived keys), so the measured
    pair compares the steady state.
    """
    for email in (KNOWN, UNKNOWN):
        _fresh_rate_limits()
        step(prepare(email), email)
    answers, works = [], []
    for email in (KNOWN, UNKNOWN):
        _fresh_rate_limits()  # every run may send: no run must meet the send limit
        state = prepare(email)
        with measure() as work:
            answers.append(step(state, email))
        works.append(work)
    known_answer, unknown_answer = answers
    assert (known_answer.status, known_answer.state) == (
        unknown_answer.status,
        unknown_answer.state,
    )
    assert set(known_answer.body["actions"]) == set(unknown_answer.body["actions"])
    assert works[0].sql, "nothing was captured"
    assert known_answer.status < 429, known_answer.body.get("error")
    assert_same(*works)
    return works[0], works[1]


def assert_same(known: Work, unknown: Work) -> None:
    diff = "\n".join(difflib.unified_diff(known.sql, unknown.sql, "known", "unknown", lineterm=""))
    assert known.sql == unknown.sql, diff
    assert known.comparable() == unknown.comparable()


def _fresh_rate_limits() -> None:
    caches[hankoflow_settings.RATE_LIMITER.CACHE].clear()


def act(action: str, inputs: dict | None = None) -> Callable[[FlowResponse, str], FlowResponse]:
    return lambda state, _email: FLOW_API.act(state, action, inputs)


def with_email(action: str, field: str = "email") -> Callable[[FlowResponse, str], FlowResponse]:
    return lambda state, email: FLOW_API.act(state, action, {field: email})


def started(flow: str) -> Callable[[str], FlowResponse]:
    return lambda _email: start(FLOW_API, flow)


FLOW_API = FlowClient()


@pytest.fixture(autouse=True)
def _fresh_client(db):
    FLOW_API.client = Client()  # no cookie crosses from one test to the next


def login_chooser(email: str) -> FlowResponse:
    return FLOW_API.act(
        start(FLOW_API, "login"), "continue_with_login_identifier", {"email": email}
    )


def login_passcode(email: str) -> FlowResponse:
    return FLOW_API.act(login_chooser(email), "continue_to_passcode_confirmation")


# --- login -------------------------------------------------------------------------------------


@pytest.mark.parametrize("password", [True, False], ids=["with_password", "passcode_only"])
def test_login_identifier_email(measure, password, make_account):
    make_account(KNOWN, password=password)
    same_work(measure, with_email("continue_with_login_identifier"), started("login"))


def test_login_identifier_email_when_passwords_are_off(measure, settings, make_account):
    """The identifier step itself sends the passcode (or the notice)."""
    settings.HANKOFLOW = {"PASSWORD": {"ENABLED": False}}
    make_account(KNOWN, password=False)
    known, unknown = same_work(
        measure, with_email("continue_with_login_identifier"), started("login")
    )
    assert (known.outbox_kinds, unknown.outbox_kinds) == (["login"], ["email_login_attempted"])


def test_login_identifier_email_when_usernames_are_on(measure, settings, make_account):
    settings.HANKOFLOW = {"USERNAME": {"ENABLED": True}}
    make_account(KNOWN, username="jane_doe")
    step = with_email("continue_with_login_identifier", "identifier")
    same_work(measure, step, started("login"))


def test_login_passcode(measure, make_account):
    make_account(KNOWN)
    known, unknown = same_work(measure, act("continue_to_passcode_confirmation"), login_chooser)
    assert (known.outbox_kinds, unknown.outbox_kinds) == (["login"], ["email_login_attempted"])
    assert known.sent == 1


def test_login_passcode_resend(measure, make_account):
    make_account(KNOWN)
    known, unknown = same_work(measure, act("resend_passcode"), login_passcode)
    assert (known.outbox_kinds, unknown.outbox_kinds) == (["login"], ["email_login_attempted"])


def test_login_passcode_wrong_code(measure, make_account):
    make_account(KNOWN)
    same_work(measure, act("verify_passcode", {"code": "000000x"}), login_passcode)


def test_password_recovery_passcode(measure, make_account):
    make_account(KNOWN)
    known, unknown = same_work(
        measure,
        act("continue_to_passcode_confirmation_recovery"),
        lambda email: FLOW_API.act(login_chooser(email), "continue_to_password_login"),
    )
    assert (known.outbox_kinds, unknown.outbox_kinds) == (["recovery"], ["email_login_attempted"])


# --- registration and email onboarding ---------------------------------------------------------


def test_registration_with_a_registered_address(measure, make_account):
    make_account(KNOWN)
    step = with_email("register_login_identifier")
    known, unknown = same_work(measure, step, started("registration"))
    assert (known.outbox_kinds, unknown.outbox_kinds) == (
        ["email_registration_attempted"],
        ["email_verification"],
    )


def test_email_onboarding_with_a_registered_address(
    measure, settings, make_account, account_factory
):
    settings.HANKOFLOW = {"USERNAME": {"ENABLED": True}}
    make_account(KNOWN)
    account_factory(None, username="solo", verified=False, password=PASSWORD)

    def onboarding_email(email: str) -> FlowResponse:
        state = start(FLOW_API, "login")
        state = FLOW_API.act(state, "continue_with_login_identifier", {"identifier": "solo"})
        return FLOW_API.act(state, "password_login", {"password": PASSWORD})

    same_work(measure, with_email("email_address_set"), onboarding_email)


# --- the service on its own ---------------------------------------------------------------------


def test_account_lookups_cost_the_same_found_or_not(db, measure, make_account):
    make_account(KNOWN, username="jane_doe")
    lookups = [
        (accounts.find_by_email, KNOWN, UNKNOWN),
        (accounts.find_by_username, "jane_doe", "ghost"),
        (accounts.identify_by_email, KNOWN, UNKNOWN),
        (accounts.identify_by_username, "jane_doe", "ghost"),
        (accounts.get, None, str(uuid.uuid4())),
    ]
    for lookup, found, missing in lookups:
        if found is None:
            found = str(accounts.find_by_email(KNOWN).id)
        with measure() as hit:
            assert lookup(found) is not None
        with measure() as miss:
            assert lookup(missing) is None
        assert hit.sql == miss.sql, lookup.__name__
