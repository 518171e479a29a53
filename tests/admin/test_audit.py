"""The audit log page: read-only, filters, search, links to users and back, CSV export."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from hankoflow.models import AuditLogEntry
from hankoflow.services import audit

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/hankoflow/auditlogentry/"


class Env:
    request = None
    language = ""

    def __init__(self, ip: str) -> None:
        self.ip = ip
        self.user_agent = "pytest"


def results(response) -> list[AuditLogEntry]:
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.fixture
def trail(full_account, other_account):
    mine = audit.record(audit.LOGIN_FAILURE, env=Env("203.0.113.7"), account=full_account)
    theirs = audit.record(audit.EMAIL_CREATED, env=Env("198.51.100.2"), account=other_account)
    return full_account, mine, theirs


def test_read_only(admin_client, trail):
    _, mine, _ = trail
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    page = admin_client.get(f"{CHANGELIST}{mine.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert admin_client.post(f"{CHANGELIST}{mine.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditLogEntry.objects.filter(pk=mine.pk).exists()


def test_filter_by_type_user_and_date(admin_client, trail):
    account, mine, theirs = trail
    assert theirs not in results(admin_client.get(CHANGELIST, {"type": "login_failure"}))
    assert results(admin_client.get(CHANGELIST, {"type": "email_created"})) == [theirs]
    by_user = results(admin_client.get(CHANGELIST, {"actor_user_id": str(account.pk)}))
    assert mine in by_user and theirs not in by_user
    day = mine.created_at
    dated = {"created_at__year": day.year, "created_at__month": day.month}
    assert mine in results(admin_client.get(CHANGELIST, dated))
    assert results(admin_client.get(CHANGELIST, {"actor_user_id": "not-a-uuid"})) == []


@pytest.mark.parametrize("term", ["carol@example.com", "CAROL@example.com ", "203.0.113.7", "id"])
def test_search_by_email_ip_and_user_id(admin_client, trail, term):
    account, mine, theirs = trail
    if term == "id":
        term = str(account.pk)
    found = results(admin_client.get(CHANGELIST, {"q": term}))
    assert mine in found and theirs not in found


def test_links_from_user_to_trail_and_back(admin_client, trail):
    account, mine, _ = trail
    user_page = admin_client.get(f"/admin/auth/user/{account.user.pk}/change/").content.decode()
    assert f"{CHANGELIST}?actor_user_id={account.pk}" in user_page
    listing = admin_client.get(CHANGELIST, {"actor_user_id": str(account.pk)}).content.decode()
    assert f"/admin/auth/user/{account.user.pk}/change/" in listing


def test_entry_of_a_deleted_user_says_so(admin_client, db):
    ghost = uuid.uuid4()
    AuditLogEntry.objects.create(type=audit.USER_DELETED, actor_user_id=ghost)
    assert f"{ghost} (deleted)" in admin_client.get(CHANGELIST).content.decode()


def test_csv_export_streams_the_filtered_list(admin_client, trail):
    account, mine, theirs = trail
    response = admin_client.post(
        f"{CHANGELIST}?actor_user_id={account.pk}",
        {
            "action": "export_csv",
            "select_across": "1",
            "index": "0",
            ACTION_CHECKBOX_NAME: [mine.pk],
        },
    )
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {row["type"] for row in rows} >= {"login_failure"}
    assert all(row["actor_user_id"] == str(account.pk) for row in rows)
    assert str(theirs.actor_user_id) not in {row["actor_user_id"] for row in rows}
    assert any(row["meta_source_ip"] == "203.0.113.7" for row in rows)


def test_view_only_staff_can_export(viewer_client, trail):
    _, mine, _ = trail
    response = viewer_client.post(
        CHANGELIST, {"action": "export_csv", ACTION_CHECKBOX_NAME: [mine.pk]}
    )
    assert response.status_code == 200 and response.streaming
