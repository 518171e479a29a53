"""The session-validity cache against the real Redis and PostgreSQL: the warm ``request.user``
is one Redis round trip and one SELECT; a revocation racing a miss that repopulates never leaves
a valid entry (threads, each with its own connection); an unreachable Redis means the database
answers, without errors. Across app servers: tests/integration/test_session_validity_servers.py.
"""

from __future__ import annotations

import os
import socket
import threading

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from hankoflow.services import sessions, shared_cache
from hankoflow.services.sessions import validity
from tests.concurrency import run_concurrently
from tests.services.sessions.validity_support import cache_settings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("HANKOFLOW_TEST_SERVICES") != "1",
        reason="needs the real services: run bin/test (or bin/services start + env)",
    ),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
    pytest.mark.urls("tests.services.sessions.validity_support"),
]

ROUNDS = 25


REDIS = "django.core.cache.backends.redis.RedisCache"


@pytest.fixture
def redis_cache():
    shared_cache.reset()
    with cache_settings(REDIS, os.environ.get("CACHE_URL") or os.environ["REDIS_URL"]):
        cache = caches["shared"]
        assert isinstance(cache, RedisCache)
        yield cache
        cache.clear()
    shared_cache.reset()


@pytest.fixture
def account(account_factory):
    return account_factory("race@example.com")


def issue(account) -> sessions.IssuedSession:
    return sessions.issue(account, amr=["pwd"], env=None, remember_me=None)


def signed_in(token: str) -> bool:
    response = Client().get("/who", HTTP_AUTHORIZATION=f"Bearer {token}")
    return response.status_code == 200 and response.json()["user"] is not None


def entry(cache, token: str):
    return cache.get(validity.entry_key(validity.unverified_session_id(token)))


@pytest.fixture
def redis_calls(monkeypatch):
    """The Redis commands Django's cache client sends, by method name."""
    calls: list[str] = []
    for name in ("get", "get_many", "add", "set", "delete", "has_key", "incr"):
        real = getattr(RedisCacheClient, name)

        def counted(self, *args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(RedisCacheClient, name, counted)
    return calls


def test_a_warm_request_user_is_one_redis_round_trip_and_one_select(
    redis_cache, account, redis_calls
):
    issued = issue(account)
    assert signed_in(issued.token) and signed_in(issued.token)
    redis_calls.clear()
    with CaptureQueriesContext(connection) as captured:
        assert signed_in(issued.token)
    assert redis_calls == ["get_many"]
    statements = [q["sql"] for q in captured.captured_queries]
    assert len(statements) == 1, statements
    assert get_user_model()._meta.db_table in statements[0]
    assert "hankoflow_session" not in statements[0]


def test_a_revocation_committing_while_a_miss_repopulates_leaves_no_valid_entry(
    redis_cache, account, monkeypatch
):
    issued = issue(account)
    read_the_row = threading.Event()
    revoked = threading.Event()
    real_remember = validity.remember

    def remember_after_the_revocation(cache, key, info):
        read_the_row.set()
        assert revoked.wait(timeout=30)
        real_remember(cache, key, info)

    monkeypatch.setattr(validity, "remember", remember_after_the_revocation)
    found: list = []

    def populate() -> None:
        try:
            found.append(validity.authenticate(issued.token))
        finally:
            connection.close()

    populator = threading.Thread(target=populate)
    populator.start()
    assert read_the_row.wait(timeout=30)
    assert sessions.revoke(issued.session_id)  # committed (autocommit)
    revoked.set()
    populator.join(timeout=30)
    assert found and found[0] is not None  # it read the row before the revocation committed
    assert entry(redis_cache, issued.token) == validity.ENDED
    monkeypatch.setattr(validity, "remember", real_remember)
    assert not signed_in(issued.token)


def test_revocations_racing_requests_never_leave_a_valid_entry(redis_cache, account):
    # Released together, many times: whoever wins, the ended session is refused afterwards.
    for _ in range(ROUNDS):
        issued = issue(account)
        run_concurrently(
            [
                lambda t=issued.token: validity.authenticate(t),
                lambda t=issued.token: validity.authenticate(t),
                lambda s=issued.session_id: sessions.revoke(s),
            ],
            atomic=False,
        )
        assert entry(redis_cache, issued.token) == validity.ENDED
        assert validity.authenticate(issued.token) is None


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_redis_means_database_answers_and_no_errors(account):
    issued = issue(account)
    shared_cache.reset()
    with cache_settings(REDIS, f"redis://127.0.0.1:{_closed_port()}/0"):
        assert signed_in(issued.token)
        assert not shared_cache.available()  # skipped for a while: no timeout per request
        assert signed_in(issued.token)
        out = Client().post("/logout", HTTP_AUTHORIZATION=f"Bearer {issued.token}")
        assert out.status_code == 204
        assert not signed_in(issued.token)
    shared_cache.reset()
