"""``HANKOFLOW["FLOW_STORE"]`` without a running Redis: which store the factory builds, the system
check hankoflow.E012, the 503 when the Redis store's server cannot be reached, and what flow
inspection says when flows live in Redis. The Redis store itself: test_flow_store_redis.py."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client, override_settings

from hankoflow.checks import check_flow_store
from hankoflow.services import flow_inspection, flow_store
from hankoflow.services.flow_store import DjangoFlowStore, configured_store
from hankoflow.services.flow_store_redis import RedisFlowStore

pytestmark = pytest.mark.django_db

LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
# Nothing listens on port 1: every command fails at once with a connection error.
NO_REDIS = {"BACKEND": "hankoflow.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}


def flows_in(store: str, cache: str = "flows"):
    """The project's HANKOFLOW with the flow store changed."""
    return override_settings(
        HANKOFLOW={**django_settings.HANKOFLOW, "FLOW_STORE": store, "FLOW_STORE_CACHE": cache}
    )


def test_the_default_store_is_the_database():
    assert isinstance(configured_store(), DjangoFlowStore)
    assert flow_store.in_database() and flow_inspection.elsewhere() is None


def test_redis_selects_the_redis_store_on_the_named_cache():
    with flows_in("redis", cache="flows"):
        store = configured_store()
    assert isinstance(store, RedisFlowStore) and store.cache_alias == "flows"


@pytest.mark.parametrize(
    ("caches", "found"),
    [
        ({"default": LOCMEM, "flows": LOCMEM}, "a LocMemCache"),
        ({"default": LOCMEM}, "not in CACHES"),
    ],
)
def test_the_check_errors_when_the_redis_store_has_no_redis_cache(caches, found):
    with override_settings(CACHES=caches), flows_in("redis"):
        problems = check_flow_store()
    assert [problem.id for problem in problems] == ["hankoflow.E012"]
    assert found in problems[0].msg


@pytest.mark.parametrize(
    "backend",
    ["hankoflow.cache.RedisCache", "django.core.cache.backends.redis.RedisCache"],
)
def test_the_check_accepts_a_redis_cache(backend):
    caches = {"default": LOCMEM, "flows": {"BACKEND": backend, "LOCATION": "redis://x:1/0"}}
    with override_settings(CACHES=caches), flows_in("redis"):
        assert check_flow_store() == []


def test_the_check_ignores_the_cache_for_the_database_store():
    with override_settings(CACHES={"default": LOCMEM}), flows_in("database", cache="missing"):
        assert check_flow_store() == []


def test_an_unknown_store_name_is_refused_by_the_settings_check():
    from hankoflow.checks import check_settings

    with override_settings(HANKOFLOW={"FLOW_STORE": "memcached"}):
        assert [problem.id for problem in check_settings()] == ["hankoflow.E003"]


@pytest.fixture
def redis_down():
    with override_settings(CACHES={"default": LOCMEM, "flows": NO_REDIS}), flows_in("redis"):
        yield


def test_a_start_needs_no_store_while_the_redis_store_is_down(redis_down):
    """Stored at its first action, a login flow starts without the store."""
    response = Client().post("/login", content_type="application/json")
    assert response.status_code == 200 and response.json()["name"] == "preflight"


def test_starting_a_flow_while_the_redis_store_is_down_answers_503(redis_down):
    hankoflow = {**django_settings.HANKOFLOW, "FLOW": {"STORE_AT_START": True}}
    with override_settings(HANKOFLOW=hankoflow):
        response = Client().post("/login", content_type="application/json")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "technical_error"  # as for a database outage
    assert response["Retry-After"]


def test_a_step_while_the_redis_store_is_down_answers_503(redis_down):
    action = f"register_client_capabilities@{uuid.uuid4()}"
    response = Client().post(
        f"/login?action={action}",
        {"input_data": {}, "csrf_token": "x" * 32},
        content_type="application/json",
    )
    assert response.status_code == 503 and response["Retry-After"]


def test_the_flow_execution_api_answers_503_while_the_redis_store_is_down(redis_down):
    handle = f"{uuid.uuid4()}.{'a' * 32}"
    response = Client().post("/flow/execute", {"flowId": handle}, content_type="application/json")
    assert response.status_code == 503 and response["Retry-After"]


def test_the_admin_flow_list_and_the_funnel_say_flows_are_in_redis(admin_client):
    with flows_in("redis"):
        listing = admin_client.get("/admin/hankoflow/flow/")
        funnel = admin_client.get("/admin/hankoflow/funnel/")
    for response in (listing, funnel):
        assert response.status_code == 200
        assert "Flows are kept in Redis" in response.content.decode()


def test_the_admin_flow_list_says_nothing_for_the_database_store(admin_client):
    assert "Flows are kept in Redis" not in admin_client.get("/admin/hankoflow/flow/").text


def test_the_flows_command_says_flows_are_in_redis(capsys):
    with flows_in("redis"):
        call_command("hankoflow_flows", "list")
    captured = capsys.readouterr()
    assert "Flows are kept in Redis" in captured.err and "no flows match" in captured.out


@pytest.mark.parametrize("alias", ["missing", "default"])  # not in CACHES / not Redis (locmem)
def test_a_store_without_a_redis_cache_is_unreachable_rather_than_an_error(alias):
    with override_settings(CACHES={"default": LOCMEM}):
        assert RedisFlowStore(alias).reachable() is False
