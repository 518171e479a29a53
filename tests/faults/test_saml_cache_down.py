"""SAML with its cache down (issue 16; security-checks.md RE-02): the single-use RelayState
nonce, the replay guard of IdP-initiated responses and the IdP metadata live in Django's cache
(Redis in production). With Redis unreachable a sign-in cannot be guarded, so it is refused,
cleanly: back to the app with ``error=server_error``, never a 500."""

from __future__ import annotations

import pytest
from django.test import override_settings

from hankoflow.models import Identity
from tests.faults.services import free_port
from tests.saml.conftest import browser, idp, needs_xmlsec, query_of, saml, sp_keys  # noqa: F401

pytestmark = [pytest.mark.slow, needs_xmlsec, pytest.mark.django_db]


def redis_nobody_serves() -> dict:
    url = f"redis://127.0.0.1:{free_port()}/0"
    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}


def refused(response) -> bool:
    return response.status_code in (302, 303) and query_of(response["Location"]).get("error") in (
        "server_error",
        "invalid_request",
    )


def test_a_saml_sign_in_started_while_the_cache_is_down_is_refused(browser):  # noqa: F811
    with override_settings(CACHES=redis_nobody_serves()):
        started = browser.start()
    assert started.status_code == 303, started.content
    assert query_of(started["Location"])["error"] == "server_error"


def test_a_saml_callback_while_the_cache_is_down_is_refused(browser):  # noqa: F811
    started = browser.start()
    fields = browser.at_identity_provider(started["Location"])
    with override_settings(CACHES=redis_nobody_serves()):
        callback = browser.post_callback(fields)
    assert callback.status_code != 500, callback.content
    assert refused(callback), (callback.status_code, callback.get("Location"))
    assert not Identity.objects.exists()
