"""PASSWORD_RECOVERY and INVITED_USER_REGISTRATION through /flow/execute: the flows beyond Hanko,
rendered like any other, with the same outcome as through the Hanko dialect."""

from __future__ import annotations

import pytest
from django.test import TestCase

from hankoflow.models import Account, AuditLogEntry, Invitation, Session
from hankoflow.services import invitations

EMAIL = "jane@example.com"
OLD = "the old password"
NEW = "a brand new password"
NO_WEBAUTHN = {"webauthn_available": False}


def start(execution, flow_type: str, **headers):
    first = execution.start(flow_type, **headers)
    assert first.status == 200 and first.type == "INTERNAL_PROMPT"
    assert first.body["flowType"] == flow_type
    return execution.act(first, None, NO_WEBAUTHN, **headers)


def recover(execution, passcode_outbox):
    step = start(execution, "PASSWORD_RECOVERY")
    assert step.type == "VIEW" and step.data["requiredParams"] == ["email"]
    heading = step.data["components"][0]
    assert heading["config"]["text"] == "Reset your password"
    step = execution.act(step, "continue_with_recovery_identifier", {"email": EMAIL})
    assert step.data["requiredParams"] == ["code"]
    step = execution.act(step, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    assert step.data["requiredParams"] == ["new_password"]
    return execution.act(step, "password_recovery", {"new_password": NEW})


def test_password_recovery_completes_without_a_session(execution, account_factory, passcode_outbox):
    account = account_factory(EMAIL, password=OLD)
    done = recover(execution, passcode_outbox)
    assert done.status == 200
    assert done.body["flowStatus"] == "COMPLETE" and done.body["flowType"] == "PASSWORD_RECOVERY"
    assert done.data == {}
    assert "hanko" not in done.response.cookies
    account.user.refresh_from_db()
    assert account.user.check_password(NEW)


def test_password_recovery_with_auto_login_signs_in(
    execution, account_factory, passcode_outbox, settings
):
    settings.HANKOFLOW = {"PASSWORD_RECOVERY": {"AUTO_LOGIN": True}}
    account = account_factory(EMAIL, password=OLD)
    done = recover(execution, passcode_outbox)
    assert done.body["flowStatus"] == "COMPLETE"
    assert done.response.cookies["hanko"].value.count(".") == 2
    assert Session.objects.filter(account=account).count() == 1


def test_password_recovery_of_an_unknown_address_reads_the_same(execution, passcode_outbox):
    step = start(execution, "PASSWORD_RECOVERY")
    step = execution.act(step, "continue_with_recovery_identifier", {"email": EMAIL})
    assert step.status == 200 and step.data["requiredParams"] == ["code"]


def invite(email: str = EMAIL) -> invitations.CreatedInvitation:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return invitations.create(email, invited_by="admin")


def test_invited_user_registration(execution, db):
    created = invite()
    step = start(execution, "INVITED_USER_REGISTRATION", HTTP_X_LANGUAGE="de")
    assert step.data["requiredParams"] == ["email", "code"]
    fields = {c["id"]: c for c in step.components() if c["type"] == "INPUT"}
    assert fields["code"]["variant"] == "TEXT"  # an invitation code, not a one-time passcode
    assert fields["email"]["config"]["label"] == "E-Mail-Adresse"
    step = execution.act(step, "redeem_invitation", {"email": EMAIL, "code": created.code})
    assert step.data["requiredParams"] == ["new_password"]
    step = execution.act(step, "register_password", {"new_password": NEW})
    done = execution.act(step, "skip")
    assert done.body["flowStatus"] == "COMPLETE"
    assert done.body["flowType"] == "INVITED_USER_REGISTRATION"
    account = Account.objects.get(emails__address=EMAIL)
    assert Invitation.objects.get().account == account
    assert AuditLogEntry.objects.filter(type="invitation_accepted", actor_user_id=account.pk)


def test_a_wrong_invitation_code_is_an_input_error(execution, db):
    invite()
    step = start(execution, "INVITED_USER_REGISTRATION")
    refused = execution.act(step, "redeem_invitation", {"email": EMAIL, "code": "nope"})
    assert 400 <= refused.status < 500
    assert refused.body["error"]["code"]
    assert not Account.objects.exists()


@pytest.mark.parametrize("flow_type", ["PASSWORD_RECOVERY", "INVITED_USER_REGISTRATION"])
def test_each_type_can_be_switched_off(execution, settings, flow_type):
    settings.HANKOFLOW = {"FLOW_EXECUTION": {"FLOW_TYPES": ["REGISTRATION"]}}
    refused = execution.start(flow_type)
    assert refused.status == 403 and refused.body["error"]["code"] == "flow_type_disabled"
