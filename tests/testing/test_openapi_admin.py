"""The admin-API response checker itself: its corrections apply and it catches bad bodies."""

from __future__ import annotations

from hankoflow.testing.openapi_admin import (
    admin_response_errors,
    load_admin_spec,
    read_admin_spec,
)

ID = "c339547d-e17d-4ba7-8a1d-b3d5a4d17c1c"
T = "2026-01-01T00:00:00Z"
USER = {"id": ID, "created_at": T, "updated_at": T}
LIST_HEADERS = {"X-Total-Count": "1", "Link": '<http://h/users?page=1&per_page=20>; rel="first"'}


def test_corrections_are_applied_to_a_fresh_copy():
    published = read_admin_spec()["components"]["schemas"]["Webhook"]["properties"]["events"]
    assert "session.create.admin" not in published["items"]["enum"]
    corrected = load_admin_spec()["components"]["schemas"]["Webhook"]["properties"]["events"]
    assert "session.create.admin" in corrected["items"]["enum"]
    assert "/health/alive" in load_admin_spec()["paths"]


def test_users_list_with_headers():
    body = [{**USER, "name": "Jo", "picture": "https://example.com/a.png"}]
    ok = admin_response_errors(
        "GET", "/admin-api/users", 200, body, headers=LIST_HEADERS, strip="/admin-api"
    )
    assert ok == []
    assert admin_response_errors("GET", "/users", 200, body, headers={}) == [
        "header Link is missing",
        "header X-Total-Count is missing",
    ]
    assert admin_response_errors("GET", "/users", 200, [{**USER, "picture": "ftp://x"}])
    assert admin_response_errors("GET", "/users", 200, [{"id": ID}])


def test_errors_and_extra_statuses():
    assert admin_response_errors("GET", f"/users/{ID}", 404, {"code": 404, "message": "x"}) == []
    assert admin_response_errors("GET", f"/users/{ID}", 404, {"code": 400, "message": "x"})
    unauthorized = {"code": 401, "message": "Unauthorized"}
    assert admin_response_errors("DELETE", f"/users/{ID}", 401, unauthorized) == []
    assert admin_response_errors("GET", f"/users/{ID}", 418, {"code": 418, "message": "x"})
    assert admin_response_errors("DELETE", f"/users/{ID}", 204, None) == []
    assert admin_response_errors("DELETE", f"/users/{ID}", 204, {"x": 1})
    assert admin_response_errors("PUT", f"/users/{ID}", 200, USER)  # no such operation


def test_html_status_page_and_health():
    html = admin_response_errors("GET", "/", 200, "<p>ok</p>", content_type="text/html")
    assert html == []
    assert admin_response_errors("GET", "/", 200, {"x": 1}, content_type="application/json")
    assert admin_response_errors("GET", "/health/alive", 200, {"alive": True}) == []
    assert admin_response_errors("GET", "/health/ready", 200, {"ready": False})


def test_audit_log_never_has_tenant_id():
    entry = {
        "id": ID,
        "type": "user_created",
        "meta_http_request_id": "r",
        "meta_source_ip": "127.0.0.1",
        "meta_user_agent": "ua",
        "details": None,
        "created_at": T,
        "updated_at": T,
    }
    assert admin_response_errors("GET", "/audit_logs", 200, [entry]) == []
    assert admin_response_errors("GET", "/audit_logs", 200, [{**entry, "TenantID": None}])
    assert admin_response_errors("GET", "/audit_logs", 200, [{**entry, "type": "nope"}])
    noted = {**entry, "type": "security_notification_sent"}
    assert admin_response_errors("GET", "/audit_logs", 200, [noted]) == []
