"""``manage.py hankoflow_invite EMAIL`` and ``--revoke`` (issue 15)."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import TestCase

from hankoflow.models import AuditLogEntry, Invitation
from hankoflow.services import invitations

EMAIL = "invitee@example.com"
CODE = re.compile(r"\b([A-Z2-9]{4}(?:-[A-Z2-9]{4}){3})\b")


def run(*args: str) -> str:
    out = StringIO()
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("hankoflow_invite", *args, stdout=out)
    return out.getvalue()


def test_invite_sends_the_code_by_email_only(db, mailoutbox):
    output = run("Invitee@Example.com", "--language", "pl")
    invitation = Invitation.objects.get()
    assert f"invited {EMAIL}" in output and str(invitation.pk) in output
    [message] = mailoutbox
    code = CODE.search(message.body).group(1)
    assert code not in output
    assert "zaproszenia" in message.body  # Polish
    assert invitations.check(EMAIL, code) == invitation
    assert invitation.invited_by == "manage.py"
    entry = AuditLogEntry.objects.get(type="invitation_created")
    assert entry.details["command"] == "hankoflow_invite"


def test_revoke(db):
    run(EMAIL)
    assert "revoked 1 invitation(s)" in run(EMAIL, "--revoke")
    assert invitations.status(Invitation.objects.get()) == invitations.REVOKED
    with pytest.raises(CommandError, match="no pending invitation"):
        run(EMAIL, "--revoke")


def test_refuses_a_registered_or_malformed_address(db, account_factory):
    account_factory(EMAIL)
    with pytest.raises(CommandError, match="already uses"):
        run(EMAIL)
    with pytest.raises(CommandError, match="not an email address"):
        run("nobody")
    assert not Invitation.objects.exists()
