"""The ``invited_registration`` flow (beyond Hanko, issue 15): invitation code and address, then
credentials as at sign-up, then ``success`` with the invited address verified; served at
``POST /invited_registration`` in the Hanko dialect."""

from __future__ import annotations

import pytest
from django.test import TestCase

from hankoflow import names as n
from hankoflow.models import Account, AuditLogEntry, Invitation
from hankoflow.services import invitations
from hankoflow.testing.client import FlowClient
from hankoflow.testing.webauthn import SoftAuthenticator

EMAIL = "invitee@example.com"
PASSWORD = "a long enough password"
NO_WEBAUTHN = {"webauthn_available": False}
WEBAUTHN = {"webauthn_available": True, "webauthn_platform_authenticator_available": True}


@pytest.fixture
def invited(db) -> FlowClient:
    return FlowClient(validate=False)  # Hanko's OpenAPI document has no /invited_registration


def invite(email: str = EMAIL) -> invitations.CreatedInvitation:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return invitations.create(email, invited_by="admin")


def init(client: FlowClient, capabilities=None):
    start = client.start(n.FLOW_INVITED_REGISTRATION)
    assert start.state == n.STATE_PREFLIGHT
    return client.act(start, "register_client_capabilities", capabilities or NO_WEBAUTHN)


def redeem(client: FlowClient, code: str, email: str = EMAIL, capabilities=None):
    state = init(client, capabilities)
    assert state.state == n.STATE_INVITED_REGISTRATION_INIT
    return client.act(state, "redeem_invitation", {"email": email, "code": code})


def sign_up(client: FlowClient, code: str):
    state = redeem(client, code)
    assert state.state == n.STATE_PASSWORD_CREATION
    state = client.act(state, "register_password", {"new_password": PASSWORD})
    assert state.state == n.STATE_MFA_METHOD_CHOOSER
    return client.act(state, "skip")


def test_invited_sign_up_with_a_password(invited, mailoutbox):
    created = invite()
    state = init(invited)
    assert state.body["actions"]["redeem_invitation"]["inputs"] == {
        "email": {"name": "email", "type": "email", "max_length": 120, "required": True},
        "code": {"name": "code", "type": "string", "max_length": 64, "required": True},
    }
    done = sign_up(invited, created.code)

    assert done.state == n.STATE_SUCCESS
    user = done.body["payload"]["user"]
    assert [(e["address"], e["is_verified"]) for e in user["emails"]] == [(EMAIL, True)]
    assert done.body["payload"]["claims"]["amr"] == ["otp", "pwd"]
    assert "hanko" in done.cookies
    account = Account.objects.get(pk=user["id"])
    assert account.user.check_password(PASSWORD)
    invitation = Invitation.objects.get()
    assert invitation.account == account and invitation.accepted_at is not None
    assert AuditLogEntry.objects.filter(type="user_created", actor_user_id=account.pk).exists()
    accepted = AuditLogEntry.objects.get(type="invitation_accepted")
    assert accepted.actor_user_id == account.pk
    assert accepted.details["flow_id"]
    assert len(mailoutbox) == 1  # the invitation; no passcode: the code proved the address


def test_it_works_with_sign_up_closed(invited, settings):
    settings.HANKOFLOW = {"ACCOUNT": {"ALLOW_SIGNUP": False}}
    created = invite()
    other = FlowClient(validate=False)
    closed = other.act(
        other.start(n.FLOW_REGISTRATION), "register_client_capabilities", NO_WEBAUTHN
    )
    assert "register_login_identifier" not in closed.body["actions"]  # no sign-up without one
    assert sign_up(invited, created.code).state == n.STATE_SUCCESS


def test_a_passkey_instead_of_a_password(invited, settings):
    settings.HANKOFLOW = {
        **settings.HANKOFLOW,  # the test settings' relying party
        "PASSWORD": {"ENABLED": False},
        "MFA": {"ACQUIRE_ON_REGISTRATION": False},
    }
    created = invite()
    state = redeem(invited, created.code, capabilities=WEBAUTHN)
    assert state.state == n.STATE_ONBOARDING_CREATE_PASSKEY
    state = invited.act(state, "webauthn_generate_creation_options")
    options = state.body["payload"]["creation_options"]
    device = SoftAuthenticator("http://localhost:8000")
    done = invited.act(
        state, "webauthn_verify_attestation_response", {"public_key": device.create(options)}
    )
    assert done.state == n.STATE_SUCCESS and done.error_code is None
    assert len(done.body["payload"]["user"]["passkeys"]) == 1
    assert done.body["payload"]["claims"]["amr"] == ["otp", "passkey"]


@pytest.mark.parametrize("wrong", ["code", "email"])
def test_a_wrong_code_or_address_is_an_input_error(invited, wrong):
    created = invite()
    code = "AAAA-BBBB-CCCC-DDDD" if wrong == "code" else created.code
    email = "someone@example.com" if wrong == "email" else EMAIL
    state = redeem(invited, code, email)
    assert state.status == 400 and state.state == n.STATE_INVITED_REGISTRATION_INIT
    assert state.input_error("redeem_invitation", "code") == "invitation_invalid"


def test_a_used_code_says_so(invited):
    created = invite()
    assert sign_up(invited, created.code).state == n.STATE_SUCCESS
    again = redeem(FlowClient(validate=False), created.code)
    assert (again.status, again.error_code) == (410, "invitation_used")
    assert again.state == n.STATE_INVITED_REGISTRATION_INIT


def test_a_revoked_code_says_so(invited):
    created = invite()
    invitations.revoke(created.invitation)
    state = redeem(invited, created.code)
    assert (state.status, state.error_code) == (410, "invitation_revoked")


def test_an_expired_code_says_so(invited, clock):
    created = invite()
    clock.advance(days=7)
    state = redeem(invited, created.code)
    assert (state.status, state.error_code) == (410, "invitation_expired")


def test_one_code_in_two_flows_makes_one_account(invited):
    created = invite()
    rival = FlowClient(validate=False)
    first = invited.act(
        redeem(invited, created.code), "register_password", {"new_password": PASSWORD}
    )
    second = rival.act(redeem(rival, created.code), "register_password", {"new_password": PASSWORD})
    assert invited.act(first, "skip").state == n.STATE_SUCCESS

    late = rival.act(second, "skip")
    assert (late.status, late.error_code) == (410, "invitation_used")
    assert late.state == n.STATE_MFA_METHOD_CHOOSER
    assert Account.objects.count() == 1


def test_revoked_while_choosing_credentials(invited):
    created = invite()
    state = invited.act(
        redeem(invited, created.code), "register_password", {"new_password": PASSWORD}
    )
    invitations.revoke(created.invitation)
    late = invited.act(state, "skip")
    assert (late.status, late.error_code) == (410, "invitation_revoked")
    assert not Account.objects.exists()
    assert not AuditLogEntry.objects.filter(type="user_created").exists()


def test_guessing_codes_is_rate_limited(invited, settings):
    settings.HANKOFLOW = {"RATE_LIMITER": {"TOKEN_LIMITS": {"TOKENS": 2, "INTERVAL": 60}}}
    state = init(invited)
    for _ in range(2):
        state = invited.act(state, "redeem_invitation", {"email": EMAIL, "code": "WRONG"})
        assert state.status == 400
    limited = invited.act(state, "redeem_invitation", {"email": EMAIL, "code": "WRONG"})
    assert (limited.status, limited.error_code) == (429, "rate_limit_exceeded")


def test_switched_off(invited, settings):
    settings.HANKOFLOW = {"INVITATIONS": {"ENABLED": False}}
    state = init(invited)
    assert state.state == n.STATE_INVITED_REGISTRATION_INIT
    assert state.body["actions"] == {}
