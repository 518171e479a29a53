"""The audit log's "Export as CSV" button: the list as filtered and searched on the page."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from hankoflow.admin.audit import CSV_COLUMNS
from tests.admin.conftest import make_user
from tests.admin.test_audit import CHANGELIST, trail  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

EXPORT = f"{CHANGELIST}export/"


def exported(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[0].split(",") == CSV_COLUMNS
    return list(csv.DictReader(io.StringIO(text)))


def test_the_changelist_has_a_button_that_keeps_the_filters(admin_client, trail):  # noqa: F811
    account, _, _ = trail
    page = admin_client.get(CHANGELIST, {"actor_user_id": str(account.pk), "q": "203.0.113.7"})
    assert f'href="{EXPORT}?actor_user_id={account.pk}&amp;q=203.0.113.7"' in page.content.decode()


def test_the_export_takes_the_filtered_list(admin_client, trail):  # noqa: F811
    account, mine, theirs = trail
    rows = exported(admin_client.get(EXPORT, {"actor_user_id": str(account.pk)}))
    assert {row["actor_user_id"] for row in rows} == {str(account.pk)}
    assert "203.0.113.7" in {row["meta_source_ip"] for row in rows}


def test_the_export_takes_the_search_and_type_filter(admin_client, trail):  # noqa: F811
    _, _, theirs = trail
    rows = exported(admin_client.get(EXPORT, {"q": "198.51.100.2", "type": "email_created"}))
    assert [(row["type"], row["meta_source_ip"]) for row in rows] == [
        ("email_created", "198.51.100.2")
    ]


def test_without_filters_everything_is_exported(admin_client, trail):  # noqa: F811
    rows = exported(admin_client.get(EXPORT))
    assert {"login_failure", "email_created"} <= {row["type"] for row in rows}


def test_a_bad_filter_is_not_a_server_error(admin_client, trail):  # noqa: F811
    response = admin_client.get(EXPORT, {"created_at__year": "not-a-year"})
    assert response.status_code in (302, 400)


def test_view_only_staff_can_export(viewer_client, trail):  # noqa: F811
    assert exported(viewer_client.get(EXPORT))


def test_staff_without_the_view_permission_cannot(trail):  # noqa: F811
    staff = make_user(login="other@example.org", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename="view_flow"))
    client = Client()
    client.force_login(staff)
    assert client.get(EXPORT).status_code == 403
    assert b"export/" not in client.get("/admin/hankoflow/flow/").content


@pytest.mark.parametrize(
    "agent", ['=HYPERLINK("https://evil.example")', "+1+2", "-2+3", "@SUM(A1)"]
)
def test_a_client_controlled_cell_cannot_become_a_spreadsheet_formula(admin_client, trail, agent):  # noqa: F811
    from hankoflow.models import AuditLogEntry

    AuditLogEntry.objects.update(meta_user_agent=agent)
    rows = exported(admin_client.get(EXPORT))
    assert rows and {row["meta_user_agent"] for row in rows} == {"'" + agent}
