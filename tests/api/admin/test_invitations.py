"""Admin API ``/invitations`` (beyond Hanko, issue 15): invite, list, show, revoke; keys and
scopes as for every admin route. Hanko's admin document has no such path, so answers are not
validated against it."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client, TestCase

from hankoflow.models import AuditLogEntry, Invitation
from hankoflow.services import api_keys, invitations

EMAIL = "invitee@example.com"
CODE = re.compile(r"\b([A-Z2-9]{4}(?:-[A-Z2-9]{4}){3})\b")


@pytest.fixture
def api(admin_api):
    return admin_api(validate=False)


def post(client, body):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post("/admin-api/invitations", body, content_type="application/json")


def test_invite_answers_201_and_emails_the_code(api, mailoutbox):
    response = post(api, {"email": "Invitee@Example.com", "language": "de"})
    assert response.status_code == 201
    body = response.json()
    invitation = Invitation.objects.get()
    assert body["id"] == str(invitation.pk)
    assert (body["email"], body["status"], body["language"]) == (EMAIL, "pending", "de")
    assert body["user_id"] is None and body["accepted_at"] is None
    [message] = mailoutbox
    code = CODE.search(message.body).group(1)
    assert code not in response.content.decode() and invitation.code_hash not in str(body)
    assert "Einladung" in message.body
    entry = AuditLogEntry.objects.get(type="invitation_created")
    assert entry.details["api_key_id"] == str(api.api_key.pk)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 400),
        ({"email": "nope"}, 400),
        ({"email": 3}, 400),
        ({"email": EMAIL, "language": 1}, 400),
    ],
)
def test_bad_bodies_answer_400(api, body, status):
    response = post(api, body)
    assert response.status_code == status
    assert response.json()["code"] == status
    assert not Invitation.objects.exists()


def test_a_registered_address_answers_409(api, account_factory):
    account_factory(EMAIL)
    response = post(api, {"email": EMAIL})
    assert response.status_code == 409
    assert response.json() == {"code": 409, "message": "email address already registered"}


def test_list_show_and_filter(api):
    first = invitations.create(EMAIL, invited_by="x").invitation
    invitations.create("second@example.com", invited_by="x")
    invitations.revoke(first)
    listed = api.get("/admin-api/invitations").json()
    assert [item["email"] for item in listed] == ["second@example.com", EMAIL]
    revoked = api.get("/admin-api/invitations?status=revoked").json()
    assert [item["id"] for item in revoked] == [str(first.pk)]
    by_email = api.get(f"/admin-api/invitations?email={EMAIL.upper()}").json()
    assert [item["id"] for item in by_email] == [str(first.pk)]
    assert api.get("/admin-api/invitations?status=lost").status_code == 400
    shown = api.get(f"/admin-api/invitations/{first.pk}")
    assert shown.status_code == 200 and shown.json()["status"] == "revoked"
    assert api.get(f"/admin-api/invitations/{uuid.uuid4()}").status_code == 404
    assert api.get("/admin-api/invitations/not-a-uuid").status_code == 400


def test_revoke(api):
    invitation = invitations.create(EMAIL, invited_by="x").invitation
    response = api.delete(f"/admin-api/invitations/{invitation.pk}")
    assert response.status_code == 204
    invitation.refresh_from_db()
    assert invitations.status(invitation) == invitations.REVOKED
    entry = AuditLogEntry.objects.get(type="invitation_revoked")
    assert entry.details["api_key_id"] == str(api.api_key.pk)
    again = api.delete(f"/admin-api/invitations/{invitation.pk}")
    assert again.status_code == 409 and again.json()["message"] == "invitation is revoked"


def test_keys_and_scopes(admin_api, db):
    invitation = invitations.create(EMAIL, invited_by="x").invitation
    assert Client().get("/admin-api/invitations").status_code == 401
    reader = admin_api(api_keys.READ, validate=False)
    assert reader.get("/admin-api/invitations").status_code == 200
    assert post(reader, {"email": "other@example.com"}).status_code == 403
    assert reader.delete(f"/admin-api/invitations/{invitation.pk}").status_code == 403


def test_invitation_audit_entries_are_listed_by_the_admin_api(admin_api):
    from hankoflow.services import audit
    from hankoflow.testing.openapi_admin import BEYOND_HANKO_AUDIT_TYPES

    assert set(BEYOND_HANKO_AUDIT_TYPES) == audit.BEYOND_HANKO_TYPES
    for kind in BEYOND_HANKO_AUDIT_TYPES:
        audit.record(kind, details={"email": "x@example.com"})
    client = admin_api(scope="read")
    answer = client.get("/admin-api/audit_logs")  # validated against the corrected document
    assert answer.status_code == 200
    assert set(BEYOND_HANKO_AUDIT_TYPES) <= {item["type"] for item in answer.json()}
