"""Integration tests against the real services that ``bin/services`` starts.

They run only with ``HANKOFLOW_TEST_SERVICES=1`` (``bin/test`` and CI set it,
via ``bin/services env``): PostgreSQL as the default database, Redis as the
cache, and a Celery worker consuming from Redis.
"""

import os
import uuid

import pytest
import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection

from hankoflow.tasks import ping

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("HANKOFLOW_TEST_SERVICES") != "1",
        reason="needs the real services: run bin/test (or bin/services start + env)",
    ),
]


@pytest.mark.django_db
def test_default_database_is_postgresql():
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        (version,) = cursor.fetchone()
    assert version.startswith("PostgreSQL ")


def test_default_cache_round_trips_through_redis():
    cache = caches["default"]
    assert isinstance(cache, RedisCache)
    key, value = f"hankoflow-test-{uuid.uuid4()}", {"n": 1, "s": "ü"}
    cache.set(key, value, timeout=30)
    try:
        assert cache.get(key) == value
        # The value really lives in the Redis server behind CACHE_URL.
        server = redis.Redis.from_url(os.environ["CACHE_URL"])
        assert server.exists(cache.make_and_validate_key(key)) == 1
    finally:
        cache.delete(key)


def test_celery_worker_executes_task(monkeypatch):
    # The suite runs tasks in-process (tests/settings.py); this test sends one to the worker.
    assert os.environ.get("CELERY_BROKER_URL"), "bin/services env sets the broker"
    monkeypatch.setitem(ping.app.conf, "task_always_eager", False)
    assert ping.delay().get(timeout=20) == "pong"
