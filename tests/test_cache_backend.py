"""``hankoflow.cache.RedisCache`` keeps one Redis client per connection pool."""

import os

import pytest
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

from hankoflow.cache import RedisCache


def backend(location: str) -> RedisCache:
    return RedisCache(location, {})


def test_the_client_is_built_once_per_pool():
    # Building a client opens no connection, so no Redis is needed here.
    cache = backend("redis://127.0.0.1:1/0")
    assert isinstance(cache, DjangoRedisCache)  # the checks that look for Django's backend see it
    assert cache._cache.get_client() is cache._cache.get_client(write=True)
    django_cache = DjangoRedisCache("redis://127.0.0.1:1/0", {})
    assert django_cache._cache.get_client() is not django_cache._cache.get_client()


def test_replicas_keep_a_client_each():
    cache = backend("redis://127.0.0.1:1/0,redis://127.0.0.1:2/0")
    writer = cache._cache.get_client(write=True)
    assert writer is cache._cache.get_client(write=True)


def test_the_demo_settings_use_it_for_a_redis_url():
    from project import settings

    if os.environ.get("CACHE_URL", "").startswith("redis") or os.environ.get("REDIS_URL"):
        assert settings.CACHES["default"]["BACKEND"] == "hankoflow.cache.RedisCache"
    else:
        assert settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")


@pytest.mark.slow
def test_it_reads_and_writes_redis():
    url = os.environ.get("CACHE_URL") or os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("no Redis (bin/services env)")
    cache = backend(url)
    cache.set("hankoflow:test:cache-backend", 7, 5)
    assert cache.get_many(["hankoflow:test:cache-backend", "missing"]) == {
        "hankoflow:test:cache-backend": 7
    }
    assert cache.add("hankoflow:test:cache-backend", 8) is False
    cache.delete("hankoflow:test:cache-backend")
