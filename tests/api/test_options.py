"""``OPTIONS`` on the API: the CORS middleware answers preflights; any other OPTIONS gets an
empty answer with ``Allow``, never DRF's metadata (view names, docstrings, parsers)."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import URLPattern

from hankoflow import urls as api_urls
from hankoflow.flows.registry import FLOWS

ALLOWED_ORIGIN = "http://localhost:8000"  # the demo's default frontend


def api_paths() -> list[str]:
    """Every route of ``hankoflow.urls`` (mounted at the root by the demo), plus the demo's
    DRF view."""
    paths = []
    for pattern in api_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        route = str(pattern.pattern)
        paths.append("/" + route.replace("<str:user_id>", str(uuid.UUID(int=1))))
    assert {f"/{name}" for name in FLOWS} <= set(paths)
    return paths


@pytest.mark.django_db
@pytest.mark.parametrize("path", api_paths())
def test_a_plain_options_request_gets_an_empty_answer_with_allow(path):
    response = Client().options(path)
    assert response.status_code in (200, 204), response.content
    assert response.content == b""
    assert "OPTIONS" in [method.strip() for method in response["Allow"].split(",")]
    assert "Content-Type" not in response


@pytest.mark.django_db
@pytest.mark.parametrize("path", api_paths())
def test_a_preflight_is_answered_by_the_cors_middleware(path):
    response = Client().options(
        path,
        HTTP_ORIGIN=ALLOWED_ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert response.status_code == 204
    assert response.content == b""
    assert response["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert response["Access-Control-Allow-Headers"] == "content-type"


@pytest.mark.django_db
def test_the_demo_drf_view_gives_no_metadata_either(account_factory, client):
    """``/api/whoami`` (project/views.py) gets the demo's ``DEFAULT_METADATA_CLASS``."""
    from hankoflow.services import sessions

    assert client.options("/api/whoami").status_code == 401  # permissions come first
    issued = sessions.issue(
        account_factory("options@example.com"), amr=["pwd"], env=None, remember_me=None
    )
    response = client.options("/api/whoami", HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    assert response.status_code == 200
    assert response.content == b""
    assert response["Allow"] == "GET, HEAD, OPTIONS"
