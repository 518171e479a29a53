"""Admin API ``GET /audit_logs`` (platform.md §4.3.9): filters, order, pagination; every answer
checked against openapi-admin.yaml by the ``admin_api`` client."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from hankoflow.models import AuditLogEntry
from hankoflow.services import audit

URL = "/admin-api/audit_logs"
BASE = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ACTOR = uuid.UUID("c339547d-e17d-4ba7-8a1d-b3d5a4d17c1c")


def entry(type_, minutes, *, ip="", email=None, actor=None, error=None):
    return AuditLogEntry.objects.create(
        type=type_,
        meta_http_request_id="req",
        meta_source_ip=ip,
        meta_user_agent="ua",
        actor_user_id=actor,
        actor_email=email,
        error=error,
        details={"flow_id": "f"},
        created_at=BASE + timedelta(minutes=minutes),
    )


@pytest.fixture
def log(db):
    return [
        entry(audit.LOGIN_SUCCESS, 0, ip="10.0.0.1", email="j*****@example.com", actor=ACTOR),
        entry(audit.LOGIN_FAILURE, 1, ip="10.0.0.2", error="wrong password"),
        entry(audit.USER_CREATED, 2, ip="192.168.1.9", email="a*****@other.io", actor=uuid.uuid4()),
        entry(audit.USER_DELETED, 3, ip="10.0.0.1", actor=ACTOR),
    ]


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [e["id"] for e in response.json()]


def test_newest_first_with_hankos_keys(admin_api, log):
    response = admin_api("read").get(URL)
    assert ids(response) == [str(e.id) for e in reversed(log)]
    assert response["X-Total-Count"] == "4"
    failure = response.json()[2]
    assert failure["error"] == "wrong password" and "actor_user_id" not in failure
    assert "TenantID" not in failure


def test_time_bounds_are_exclusive(admin_api, log):
    client = admin_api("read")
    start, end = log[0].created_at, log[3].created_at
    response = client.get(URL, {"start_time": start.isoformat(), "end_time": end.isoformat()})
    assert ids(response) == [str(log[2].id), str(log[1].id)]
    zulu = client.get(URL, {"start_time": "2025-03-01T12:02:00Z"})
    assert ids(zulu) == [str(log[3].id)]
    bad = client.get(URL, {"start_time": "yesterday"})
    assert bad.status_code == 400


def test_types_are_repeatable(admin_api, log):
    response = admin_api("read").get(f"{URL}?type=login_success&type=user_deleted")
    assert ids(response) == [str(log[3].id), str(log[0].id)]


def test_substring_filters_and_q(admin_api, log):
    client = admin_api("read")
    assert ids(client.get(URL, {"actor_user_id": "c339547d-e17d"})) == [
        str(log[3].id),
        str(log[0].id),
    ]
    assert ids(client.get(URL, {"actor_email": "other.io"})) == [str(log[2].id)]
    assert ids(client.get(URL, {"meta_source_ip": "10.0.0."})) == [
        str(log[3].id),
        str(log[1].id),
        str(log[0].id),
    ]
    assert ids(client.get(URL, {"q": "192.168"})) == [str(log[2].id)]
    assert ids(client.get(URL, {"q": "example.com"})) == [str(log[0].id)]
    assert ids(client.get(URL, {"q": "b3d5a4d17c1c"})) == [str(log[3].id), str(log[0].id)]


def test_pages(admin_api, log):
    response = admin_api("read").get(URL, {"per_page": 2, "page": 2, "type": "login_success"})
    assert ids(response) == []
    assert response["X-Total-Count"] == "1"
    first = admin_api("read").get(URL, {"per_page": 3})
    assert ids(first) == [str(e.id) for e in reversed(log[1:])]
    assert first["Link"] == (
        '<http://testserver/admin-api/audit_logs?page=2&per_page=3>; rel="last",'
        '<http://testserver/admin-api/audit_logs?page=2&per_page=3>; rel="next"'
    )


def test_admin_changes_are_listed_naming_the_key(admin_api):
    client = admin_api()
    created = client.post(
        "/admin-api/users", {"username": "audited"}, content_type="application/json"
    )
    assert created.status_code == 200
    listed = admin_api("read").get(URL, {"type": "user_created"}).json()
    assert len(listed) == 1
    assert listed[0]["actor_user_id"] == created.json()["id"]
    assert listed[0]["details"]["api_key_name"] == client.api_key.name
    assert listed[0]["meta_user_agent"] == "" or isinstance(listed[0]["meta_user_agent"], str)
