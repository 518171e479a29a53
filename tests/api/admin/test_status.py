"""Admin API status page and health (platform.md §4.3.1, §10.1)."""

from __future__ import annotations

from django.test import Client

from hankoflow.api.admin import status


def test_status_page_needs_a_key_and_is_html(admin_api):
    response = admin_api("read").get("/admin-api/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "API is running." in response.content.decode()
    assert Client().get("/admin-api/").status_code == 401


def test_status_page_answers_500_when_the_database_fails(admin_api, monkeypatch):
    client = admin_api("read")

    def broken() -> None:
        raise RuntimeError("no database")

    monkeypatch.setattr(status, "check_database", broken)
    response = client.get("/admin-api/")
    assert response.status_code == 500
    assert "database connectivity problems" in response.content.decode()


def test_health_needs_no_key(admin_api):
    client = admin_api("read")
    assert client.get("/admin-api/health/alive").json() == {"alive": True}
    assert client.head("/admin-api/health/alive").status_code == 200
    assert Client().get("/admin-api/health/alive").status_code == 200
    ready = Client().get("/admin-api/health/ready")
    assert ready.status_code in (200, 503)
