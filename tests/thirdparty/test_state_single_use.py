"""OA-01: an OAuth ``state`` works for one callback only, across processes when the cache is
shared, and a cache that cannot be asked fails the callback closed (an error redirect, no 500)."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import caches

from hankoflow.conf import settings as hankoflow_settings
from hankoflow.services.thirdparty import backends, state
from hankoflow.services.thirdparty.state import InvalidState, State

VERIFIER = "v" * 43
APP = "https://app.example.com"
THIRD_PARTY = {
    "ALLOWED_REDIRECT_URLS": [f"{APP}/**"],
    "ERROR_REDIRECT_URL": f"{APP}/error",
    "PROVIDERS": {"github": {"ENABLED": True, "CLIENT_ID": "id", "SECRET": "secret"}},
}


@pytest.fixture
def provider_signs_in(monkeypatch, settings):
    """GitHub configured, and its code exchange answering with one person, offline."""
    settings.HANKOFLOW = {"THIRD_PARTY": THIRD_PARTY}
    person = backends.ProviderUser(subject="gh-7", email="gh7@example.com", email_verified=True)
    monkeypatch.setattr(backends, "complete", lambda *args, **kwargs: person)


def callback(client, sealed: str) -> dict[str, str]:
    response = client.get("/thirdparty/callback", {"state": sealed, "code": "provider-code"})
    assert response.status_code == 307, response.content
    location = urlsplit(response["Location"])
    return {k: v[0] for k, v in parse_qs(location.query).items()}


@pytest.mark.django_db
def test_a_state_is_refused_at_its_second_callback(client, provider_signs_in):
    sealed = State.new("github", f"{APP}/signed-in", VERIFIER).seal()
    assert "hanko_token" in callback(client, sealed)
    again = callback(client, sealed)
    assert "hanko_token" not in again
    assert again["error"] == "invalid_request"
    assert again["error_description"] == "invalid state: state already used"


@pytest.mark.django_db
def test_a_state_the_provider_answered_with_an_error_is_used_up_too(client, provider_signs_in):
    sealed = State.new("github", f"{APP}/signed-in", VERIFIER).seal()
    response = client.get("/thirdparty/callback", {"state": sealed, "error": "access_denied"})
    assert "error=access_denied" in response["Location"]
    assert callback(client, sealed)["error_description"] == "invalid state: state already used"


@pytest.mark.django_db
def test_a_cache_that_cannot_be_asked_fails_the_callback_closed(
    client, provider_signs_in, monkeypatch
):
    def down(*args, **kwargs):
        raise ConnectionError("cache unreachable")

    monkeypatch.setattr(caches[hankoflow_settings.RATE_LIMITER.CACHE], "add", down)
    sealed = State.new("github", f"{APP}/signed-in", VERIFIER).seal()
    answer = callback(client, sealed)
    assert "hanko_token" not in answer
    assert answer["error"] == "server_error"


def test_of_concurrent_callbacks_with_one_state_only_one_goes_on():
    """The cache's atomic ``add`` decides (locmem here: one process; Redis: every process)."""
    opened = State.new("github", f"{APP}/signed-in", VERIFIER)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def use() -> None:
        barrier.wait()
        try:
            state.consume(opened)
            outcomes.append("used")
        except InvalidState:
            outcomes.append("refused")

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 7 + ["used"]


def test_the_used_mark_outlives_the_state(clock, monkeypatch):
    """The mark is kept at least as long as the state is accepted (the cache's own clock)."""
    cache = caches[hankoflow_settings.RATE_LIMITER.CACHE]
    kept: list[int] = []
    real_add = cache.add

    def add(key, value, timeout=None, **kwargs):
        kept.append(timeout)
        return real_add(key, value, timeout=timeout, **kwargs)

    monkeypatch.setattr(cache, "add", add)
    opened = State.new("github", f"{APP}/signed-in", VERIFIER)
    clock.advance(seconds=100)
    state.consume(opened)
    assert kept[0] > opened.expires_at - int(clock.timestamp())
