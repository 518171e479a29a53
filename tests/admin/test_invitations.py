"""The invitations page (issue 15): invite (the email goes out), list without codes, revoke."""

from __future__ import annotations

import re

from django.test import TestCase

from hankoflow.models import AuditLogEntry, Invitation
from hankoflow.services import invitations

CHANGELIST = "/admin/hankoflow/invitation/"
EMAIL = "invitee@example.com"
CODE = re.compile(r"\b([A-Z2-9]{4}(?:-[A-Z2-9]{4}){3})\b")


def test_invite_sends_the_email_and_audits_the_staff_member(admin_client, superuser, mailoutbox):
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = admin_client.post(
            f"{CHANGELIST}add/", {"email": " Invitee@Example.com", "language": "fr"}
        )
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.language) == (EMAIL, "fr")
    assert invitation.invited_by == superuser.get_username()
    [message] = mailoutbox
    code = CODE.search(message.body).group(1)
    assert "invité" in message.body
    assert invitations.check(EMAIL, code) == invitation
    entry = AuditLogEntry.objects.get(type="invitation_created")
    assert entry.details["staff_username"] == superuser.get_username()

    listing = admin_client.get(CHANGELIST).content.decode()
    assert "invitee@example.com" in listing and "pending" in listing
    detail = admin_client.get(f"{CHANGELIST}{invitation.pk}/change/").content.decode()
    assert code not in listing + detail and invitation.code_hash not in listing + detail


def test_no_invitation_for_a_registered_address(admin_client, account_factory, mailoutbox):
    account_factory(EMAIL)
    response = admin_client.post(f"{CHANGELIST}add/", {"email": EMAIL, "language": ""})
    assert response.status_code == 200
    assert "An account already uses this address." in response.content.decode()
    assert not Invitation.objects.exists() and not mailoutbox


def test_revoke_action(admin_client):
    created = invitations.create(EMAIL, invited_by="someone")
    response = admin_client.post(
        CHANGELIST,
        {"action": "revoke", "_selected_action": [str(created.invitation.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    created.invitation.refresh_from_db()
    assert invitations.status(created.invitation) == invitations.REVOKED
    assert AuditLogEntry.objects.get(type="invitation_revoked").details["admin_action"] == (
        "revoke_invitation"
    )


def test_invitations_cannot_be_deleted_or_edited(admin_client):
    created = invitations.create(EMAIL, invited_by="someone")
    pk = created.invitation.pk
    assert admin_client.get(f"{CHANGELIST}{pk}/delete/").status_code == 403
    admin_client.post(f"{CHANGELIST}{pk}/change/", {"email": "other@example.com"})
    created.invitation.refresh_from_db()
    assert created.invitation.email == EMAIL


def test_a_viewer_sees_but_cannot_invite(viewer_client):
    invitations.create(EMAIL, invited_by="someone")
    assert viewer_client.get(CHANGELIST).status_code == 200
    assert viewer_client.get(f"{CHANGELIST}add/").status_code == 403
