"""Rate limits in Django's cache (platform.md §8, security-checks PC-06, RE-02, RE-06)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import override_settings

from hankoflow.services import ratelimit
from hankoflow.services.ratelimit import Bucket, Decision


def limits(bucket: Bucket, tokens: int, interval: int) -> dict:
    return {"RATE_LIMITER": {bucket.limits_setting: {"TOKENS": tokens, "INTERVAL": interval}}}


def unique(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4()}"


def test_defaults_allow_three_passcodes_a_minute_per_ip_and_email():
    key = ratelimit.passcode_key("192.0.2.1", unique() + "@example.com")
    decisions = [ratelimit.take(Bucket.PASSCODE, key) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert 1 <= decisions[-1].retry_after <= 60
    assert decisions[0] == Decision(allowed=True, retry_after=0)


def test_password_default_is_five_a_minute():
    key = ratelimit.password_key("192.0.2.1", unique())
    assert [ratelimit.take(Bucket.PASSWORD, key).allowed for _ in range(6)] == [True] * 5 + [False]


@pytest.mark.parametrize("bucket", [Bucket.OTP, Bucket.TOKEN])
def test_other_buckets_default_to_three(bucket):
    key = unique()
    assert [ratelimit.take(bucket, key).allowed for _ in range(4)] == [True] * 3 + [False]


def test_limits_come_from_the_settings():
    with override_settings(HANKOFLOW=limits(Bucket.PASSWORD, 2, 30)):
        key = unique()
        assert [ratelimit.take(Bucket.PASSWORD, key).allowed for _ in range(3)] == [
            True,
            True,
            False,
        ]
        assert 1 <= ratelimit.take(Bucket.PASSWORD, key).retry_after <= 30


def test_keys_and_buckets_are_independent():
    key = unique()
    for _ in range(3):
        ratelimit.take(Bucket.PASSCODE, key)
    assert not ratelimit.take(Bucket.PASSCODE, key).allowed
    assert ratelimit.take(Bucket.OTP, key).allowed
    assert ratelimit.take(Bucket.PASSCODE, key + "x").allowed


def test_email_case_variants_share_a_bucket():
    local = unique()
    variants = [f"{local}@example.com", f"{local.upper()}@EXAMPLE.COM", f" {local}@Example.com "]
    decisions = [
        ratelimit.take(Bucket.PASSCODE, ratelimit.passcode_key("192.0.2.7", v)) for v in variants
    ]
    assert all(d.allowed for d in decisions)
    key = ratelimit.passcode_key("192.0.2.7", variants[0])
    assert not ratelimit.take(Bucket.PASSCODE, key).allowed
    # Another IP is another bucket (Hanko's key: passcode/<ip>/<email>).
    assert ratelimit.take(Bucket.PASSCODE, ratelimit.passcode_key("192.0.2.8", variants[0])).allowed


def test_password_identifier_case_variants_share_a_bucket():
    name = unique("Jane-")
    assert ratelimit.password_key("192.0.2.1", name) == ratelimit.password_key(
        "192.0.2.1", f" {name.lower()} "
    )


def test_budget_returns_when_the_window_ends(clock):
    clock.stop()
    with override_settings(HANKOFLOW=limits(Bucket.OTP, 1, 10)):
        key = unique()
        assert ratelimit.take(Bucket.OTP, key).allowed
        clock.advance(seconds=9.5)
        denied = ratelimit.take(Bucket.OTP, key)
        assert denied == Decision(allowed=False, retry_after=1)  # floor, but at least 1
        clock.advance(seconds=0.5)
        assert ratelimit.take(Bucket.OTP, key).allowed
        assert not ratelimit.take(Bucket.OTP, key).allowed  # the next window has its own budget
        clock.advance(seconds=25)
        assert ratelimit.take(Bucket.OTP, key).allowed


def test_any_text_is_a_safe_key():
    hostile = "a b\n\x00\u202e" + "x" * 5000
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # CacheKeyWarning for unsafe keys would fail here
        assert ratelimit.take(Bucket.TOKEN, hostile).allowed


def test_disabled_limiter_always_allows():
    with override_settings(HANKOFLOW={"RATE_LIMITER": {"ENABLED": False}}):
        key = unique()
        assert all(ratelimit.take(Bucket.OTP, key).allowed for _ in range(20))


def test_buckets_keep_their_names_and_settings():
    # The names are part of the cache keys: renaming one would hand every key a fresh budget.
    assert [(b.value, b.limits_setting) for b in Bucket] == [
        ("passcode", "PASSCODE_LIMITS"),
        ("passcode_email", "PASSCODE_EMAIL_LIMITS"),
        ("password", "PASSWORD_LIMITS"),
        ("otp", "OTP_LIMITS"),
        ("token", "TOKEN_LIMITS"),
        ("admin_api", "ADMIN_API.RATE_LIMIT"),
    ]


def test_unknown_bucket_is_a_programming_error():
    with pytest.raises(KeyError):
        ratelimit.take("sms", "x")


class BrokenCache:
    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("cache down")

        return fail


def test_cache_failure_fails_open_with_a_warning(monkeypatch, caplog):
    monkeypatch.setattr(ratelimit, "caches", {"default": BrokenCache()})
    with caplog.at_level(logging.WARNING, logger="hankoflow.services.ratelimit"):
        decision = ratelimit.take(Bucket.PASSWORD, "k")
    assert decision == Decision(allowed=True, retry_after=0)
    assert "rate limiter cache unavailable" in caplog.text


def test_unreachable_redis_fails_open(caplog):
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "down": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # discard port: nothing listens
            "OPTIONS": {"socket_connect_timeout": 1},
        },
    }
    with override_settings(CACHES=caches, HANKOFLOW={"RATE_LIMITER": {"CACHE": "down"}}):
        started = time.monotonic()
        assert ratelimit.take(Bucket.PASSCODE, unique()).allowed
        assert time.monotonic() - started < 5
    assert "rate limiter cache unavailable" in caplog.text


def test_concurrent_takes_never_exceed_the_budget():
    key = unique()
    workers = 24
    barrier = threading.Barrier(workers)

    def take(_):
        barrier.wait()
        return ratelimit.take(Bucket.PASSWORD, key).allowed

    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(take, range(workers)))
    assert results.count(True) == 5
