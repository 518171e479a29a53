"""CORS (flow-api.md §1.5.3), health checks and the public configuration document."""

from __future__ import annotations

import pytest
from django.test import override_settings

from hankoflow.api.public import health

ORIGIN = "http://localhost:8000"  # the demo's default frontend origin


def test_preflight_from_allowed_origin(client):
    response = client.options(
        "/login",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-language,authorization",
        },
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert response["Access-Control-Allow-Methods"] == "GET,POST,PUT,PATCH,DELETE,OPTIONS"
    assert response["Access-Control-Allow-Headers"] == "content-type,x-language,authorization"
    assert response["Access-Control-Max-Age"] == "7200"
    assert "Origin" in response["Vary"]


@pytest.mark.django_db
def test_flow_response_exposes_session_headers(client):
    response = client.post("/login", headers={"Origin": ORIGIN})
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    exposed = response["Access-Control-Expose-Headers"]
    assert "X-Session-Lifetime" in exposed and "X-Session-Retention" in exposed
    assert "X-Request-ID" in exposed
    assert "X-Auth-Token" not in exposed


@pytest.mark.django_db
def test_auth_token_header_is_exposed_when_enabled(client):
    with override_settings(
        HANKOFLOW={
            "CORS": {"ALLOW_ORIGINS": [ORIGIN]},
            "SESSION": {"ENABLE_AUTH_TOKEN_HEADER": True},
        }
    ):
        response = client.post("/login", headers={"Origin": ORIGIN})
    assert "X-Auth-Token" in response["Access-Control-Expose-Headers"]


@pytest.mark.django_db
@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://localhost:8000.evil"])
def test_other_origins_get_no_cors_headers(client, origin):
    response = client.post("/login", headers={"Origin": origin})
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Credentials" not in response


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://app.example.com", True),
        ("https://a.b.example.com", True),
        ("https://example.com", False),
        ("http://app.example.com", False),
    ],
)
def test_wildcard_origins(client, origin, allowed):
    with override_settings(HANKOFLOW={"CORS": {"ALLOW_ORIGINS": ["https://*.example.com"]}}):
        response = client.post("/login", headers={"Origin": origin})
    assert (response.get("Access-Control-Allow-Origin") == origin) is allowed


def test_health_alive(client):
    response = client.get("/health/alive")
    assert response.status_code == 200 and response.json() == {"alive": True}


@pytest.mark.django_db
def test_health_ready_checks_database_cache_and_broker(client):
    response = client.get("/health/ready")
    assert response.status_code == 200 and response.json() == {"ready": True}


@pytest.mark.django_db
def test_health_ready_names_the_failing_dependency(client, monkeypatch):
    def broken() -> None:
        raise ConnectionError("cache down")

    monkeypatch.setitem(health.CHECKS, "cache", broken)
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json() == {"ready": False, "failed": ["cache"]}


def test_well_known_config_reflects_settings(client):
    with override_settings(
        HANKOFLOW={
            "PASSWORD": {"MIN_LENGTH": 10},
            "ACCOUNT": {"ALLOW_SIGNUP": False},
            "THIRD_PARTY": {
                "PROVIDERS": {
                    "github": {"ENABLED": True, "CLIENT_ID": "id", "SECRET": "secret"},
                    "google": {"ENABLED": False},
                    # Enabled without credentials: cannot work, so not listed.
                    "discord": {"ENABLED": True},
                }
            },
        }
    ):
        body = client.get("/.well-known/config").json()
    assert body == {
        "password": {"enabled": True, "min_password_length": 10},
        "emails": {"require_verification": True, "max_num_of_addresses": 5},
        "providers": ["GitHub"],
        "account": {"allow_deletion": False, "allow_signup": False},
        "use_enterprise": False,
    }
