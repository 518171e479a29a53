"""Which hooks want an event, from this process's copy while the shared cache's generation stands
(hankoflow/services/webhooks/sources.py): no query per sign-in, and every change seen at once by
every process, once it commits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from hankoflow import clock
from hankoflow.models import Webhook
from hankoflow.services import shared_cache
from hankoflow.services.webhooks import registry, sources

pytestmark = pytest.mark.django_db(transaction=True)

EVENT = "user.login"
CALLBACK = "https://hooks.example.com/login"


@pytest.fixture
def shared(monkeypatch):
    """A cache every 'process' shares (what Redis is in production)."""
    cache = LocMemCache("webhook-generation-tests", {})
    cache.clear()
    monkeypatch.setattr(shared_cache, "shared", lambda **kwargs: cache)
    monkeypatch.setattr(sources, "_copy", None)
    yield cache
    cache.clear()


def callbacks() -> list[str]:
    with transaction.atomic():
        return [target.callback for target in sources.targets(EVENT)]


def hook_reads(run) -> int:
    with CaptureQueriesContext(connection) as captured:
        run()
    return sum('FROM "hankoflow_webhook"' in q["sql"] for q in captured.captured_queries)


def as_another_process(copy) -> None:
    """Put back the copy a process loaded before the change: it must notice the change."""
    sources._copy = copy


def test_the_hooks_are_read_once_while_nothing_changes(shared):
    registry.create(CALLBACK, [EVENT])
    assert hook_reads(callbacks) == 1
    assert hook_reads(callbacks) == 0
    assert callbacks() == [CALLBACK]


def test_without_a_shared_cache_every_transaction_reads_them(monkeypatch):
    monkeypatch.setattr(shared_cache, "shared", lambda **kwargs: None)
    registry.create(CALLBACK, [EVENT])
    assert hook_reads(callbacks) == 1
    assert hook_reads(callbacks) == 1


@pytest.mark.parametrize(
    "change",
    [
        lambda hook: registry.create("https://hooks.example.com/new", [EVENT]),
        lambda hook: registry.set_enabled(hook, False),
        lambda hook: registry.delete(hook),
        lambda hook: registry.replace(
            hook, callback="https://hooks.example.com/moved", events=[EVENT], enabled=True
        ),
    ],
    ids=["create", "disable", "delete", "replace"],
)
def test_every_process_sees_a_change_at_once(shared, change):
    hook = registry.create(CALLBACK, [EVENT])
    before = callbacks()
    stale = sources._copy
    change(hook)
    as_another_process(stale)
    expected = list(Webhook.objects.filter(enabled=True).order_by("created_at"))
    assert callbacks() == [h.callback for h in expected]
    assert callbacks() != before


def test_a_change_not_yet_committed_stays_in_its_transaction(shared):
    registry.create(CALLBACK, [EVENT])
    assert callbacks() == [CALLBACK]
    with pytest.raises(RuntimeError), transaction.atomic():
        registry.create("https://hooks.example.com/rolled-back", [EVENT])
        assert len(sources.targets(EVENT)) == 2
        raise RuntimeError
    assert callbacks() == [CALLBACK]


def test_a_renewed_hook_is_not_taken_for_expired_from_an_old_copy(shared, settings):
    """A success renews ``expires_at`` without a new generation: the copy may hold the old
    date, and the row decides."""
    settings.HANKOFLOW = {"WEBHOOKS": {"ALLOW_TIME_EXPIRATION": True}}
    hook = registry.create(CALLBACK, [EVENT])
    callbacks()
    # The copy was loaded just before the row's renewal: it holds a date now past.
    generation, loaded_at, (copied,) = sources._copy
    copied.expires_at = clock.now() - timedelta(seconds=1)
    assert Webhook.objects.get(pk=hook.pk).expires_at > clock.now()
    assert callbacks() == [CALLBACK]
    assert Webhook.objects.get(pk=hook.pk).enabled


def test_an_expired_hook_is_still_disabled(shared, settings):
    settings.HANKOFLOW = {"WEBHOOKS": {"ALLOW_TIME_EXPIRATION": True}}
    hook = registry.create(CALLBACK, [EVENT])
    Webhook.objects.filter(pk=hook.pk).update(expires_at=clock.now() - timedelta(seconds=1))
    assert callbacks() == []
    assert not Webhook.objects.get(pk=hook.pk).enabled


def test_a_copy_is_reloaded_after_its_time_even_if_no_change_was_announced(shared, monkeypatch):
    registry.create(CALLBACK, [EVENT])
    callbacks()
    generation, loaded_at, hooks = sources._copy
    sources._copy = (generation, loaded_at - sources.COPY_SECONDS, hooks)
    assert hook_reads(callbacks) == 1


def test_a_failing_cache_means_reading_the_database(shared, monkeypatch):
    registry.create(CALLBACK, [EVENT])
    callbacks()

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(shared, "get", broken)
    monkeypatch.setattr(shared_cache, "failed", lambda: None)
    assert hook_reads(callbacks) == 1
    assert hook_reads(callbacks) == 1
