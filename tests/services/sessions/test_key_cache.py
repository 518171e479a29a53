"""The per-process cache of verification keys: a retire or rotate in one process is seen by the
others (issue 8), and a malformed header costs no query.

"Another process" is simulated in one interpreter: it changes the database and the shared cache
as a worker would, but leaves this process's in-memory key cache alone (its ``clear_cache`` is
made a no-op while it runs). Time is moved with a fake monotonic clock, never slept.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.cache.backends.base import BaseCache
from django.test import Client, override_settings

from hankoflow import clock
from hankoflow.services import jwks, sessions
from hankoflow.services import shared_cache as shared_cache_module
from tests.tokens import claims_for, sign_raw

pytestmark = pytest.mark.django_db


class BrokenCache(BaseCache):
    """A shared cache whose server is down."""

    reads = 0

    def __init__(self, location: str, params: dict) -> None:
        super().__init__(params)

    def get(self, *args, **kwargs):
        BrokenCache.reads += 1
        raise ConnectionError("cache down")

    add = set = clear = get


def cache_alias(tmp_path, backend: str) -> override_settings:
    """Point ``RATE_LIMITER.CACHE`` (the cache hankoflow shares between processes) at a new
    alias with ``backend``; a file-based cache is shared the way Redis is."""
    caches = {
        **django_settings.CACHES,
        "shared": {"BACKEND": backend, "LOCATION": str(tmp_path / "cache")},
    }
    return override_settings(CACHES=caches, HANKOFLOW={"RATE_LIMITER": {"CACHE": "shared"}})


@pytest.fixture
def shared_cache(tmp_path):
    with cache_alias(tmp_path, "django.core.cache.backends.filebased.FileBasedCache"):
        yield


@pytest.fixture
def per_process_cache(tmp_path):
    with cache_alias(tmp_path, "django.core.cache.backends.locmem.LocMemCache"):
        yield


@pytest.fixture
def monotonic(monkeypatch):
    """This process's monotonic clock, moved by hand: ``monotonic.advance(seconds)``."""

    class Clock:
        now = 1_000.0

        def advance(self, seconds: float) -> None:
            self.now += seconds

    clock = Clock()
    monkeypatch.setattr(shared_cache_module.time, "monotonic", lambda: clock.now)
    return clock


@pytest.fixture
def other_process(monkeypatch, django_capture_on_commit_callbacks):
    """Runs a function as another worker process would: its commit hooks run, but this
    process's in-memory key cache is not touched."""

    @contextlib.contextmanager
    def elsewhere():
        with monkeypatch.context() as patch:
            patch.setattr(jwks.cache, "clear_cache", lambda: None)
            with django_capture_on_commit_callbacks(execute=True):
                yield

    return elsewhere


def accepted(token: str) -> bool:
    return sessions.validate(token, touch=False) is not None


# --- retire and rotate across processes ----------------------------------------------------------


def test_a_key_retired_elsewhere_is_refused_on_the_next_request(
    shared_cache, issued, other_process
):
    assert accepted(issued.token)  # this process has the key cached now
    with other_process():
        assert jwks.retire(jwks.signing_key().kid)
    assert not accepted(issued.token)
    response = Client().get("/me", HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    assert response.status_code == 401


def test_a_rotation_elsewhere_that_retires_an_old_key_is_seen_at_once(
    shared_cache, account, other_process
):
    lifespan = timedelta(seconds=hankoflow_lifespan())
    long_ago = clock.now() - 3 * lifespan
    old = jwks.create_key(now=long_ago)
    jwks.create_key(now=long_ago + lifespan)  # its successor, itself past a lifespan
    token = token_signed_with(old.kid, account)
    assert accepted(token)
    with other_process():
        jwks.rotate()
    assert not accepted(token)


def test_a_per_process_cache_cannot_carry_the_news_and_the_age_bound_applies(
    per_process_cache, issued, other_process, monotonic
):
    # The fallback, stated in the README: without a shared cache a retired key is refused by
    # every process within VERIFICATION_CACHE_SECONDS.
    assert accepted(issued.token)
    with other_process():
        jwks.retire(jwks.signing_key().kid)
    assert accepted(issued.token)  # still cached here: locmem cannot tell this process
    monotonic.advance(jwks.VERIFICATION_CACHE_SECONDS)
    assert not accepted(issued.token)


def test_the_retiring_process_refuses_at_once_even_inside_a_transaction(shared_cache, issued):
    assert accepted(issued.token)
    jwks.retire(jwks.signing_key().kid)  # the test's transaction never commits
    assert not accepted(issued.token)


def test_a_flushed_cache_makes_every_process_reload_once(
    shared_cache, issued, django_assert_num_queries
):
    from django.core.cache import caches

    assert accepted(issued.token)
    with django_assert_num_queries(1):  # the session row only: the key is cached
        assert accepted(issued.token)
    caches["shared"].clear()
    with django_assert_num_queries(2):  # the key is read again, under a new generation
        assert accepted(issued.token)
    with django_assert_num_queries(1):
        assert accepted(issued.token)


def test_an_unreachable_cache_falls_back_to_the_age_bound(tmp_path, issued, monotonic, caplog):
    BrokenCache.reads = 0
    with cache_alias(tmp_path, "tests.services.sessions.test_key_cache.BrokenCache"):
        assert accepted(issued.token)
        assert accepted(issued.token)  # no error for the caller, the key from memory
        assert BrokenCache.reads == 1  # and the cache is left alone for a while
        assert "cache unavailable" in caplog.text
        monotonic.advance(jwks.CACHE_RETRY_SECONDS)
        assert accepted(issued.token)
        assert BrokenCache.reads == 2


def test_request_user_from_a_jwt_stays_one_statement(shared_cache, issued):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.get("/api/whoami", HTTP_AUTHORIZATION=f"Bearer {issued.token}")  # warm
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/whoami", HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    assert response.status_code == 200
    assert len(queries) == 1, [q["sql"] for q in queries]


# --- a malformed header costs nothing -------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "RS256", "typ": "JWT", "kid": "a\x00b"},
        {"alg": "RS256", "typ": "JWT", "kid": "x" * 65},
        {"alg": "RS256", "typ": "JWT", "kid": "has space"},
        {"alg": "RS256", "typ": "JWT", "kid": 7},
        {"alg": "HS256", "typ": "JWT", "kid": "KID"},
        {"alg": "RS256", "typ": "jwt", "kid": "KID"},
        {"alg": "RS256", "kid": "KID"},
    ],
    ids=repr,
)
def test_a_malformed_header_is_refused_before_any_query(issued, header, django_assert_num_queries):
    if header.get("kid") == "KID":
        header = {**header, "kid": jwks.signing_key().kid}
    token = sign_raw(header, claims_for(issued))
    with django_assert_num_queries(0):
        assert sessions.decode(token) is None


@pytest.mark.parametrize(
    "kid", ["a\x00b", "", " ", "k" * 65, "ké", "tab\there", None, 1, ["kid"]], ids=repr
)
def test_well_formed_kid_refuses(kid):
    assert not jwks.well_formed_kid(kid)


@pytest.mark.parametrize("kid", ["0b5a3c1e-8f2d-4c6b-9a7e-1d2c3b4a5f60", "k", "A.b_c-~!", "k" * 64])
def test_well_formed_kid_accepts(kid):
    assert jwks.well_formed_kid(kid)


# --- helpers --------------------------------------------------------------------------------------


def hankoflow_lifespan() -> int:
    from hankoflow.conf import settings

    return int(settings.SESSION.LIFESPAN)


def token_signed_with(kid: str, account) -> str:
    import jwt

    from hankoflow.models import SigningKey

    issued = sessions.issue(account, amr=[], env=None, remember_me=None)
    row = SigningKey.objects.get(kid=kid)
    private = jwks.decrypt_private_key(row.private_key_encrypted)
    claims = claims_for(issued)
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})
