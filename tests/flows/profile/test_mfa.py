"""The authenticator app in the profile (flow-api.md §4.3.2 #2, #7, §4.0.5 ``otp_code_verify``)."""

from __future__ import annotations

import pyotp
import pytest

from hankoflow import emails
from hankoflow import names as n
from hankoflow.actions.profile import mfa as profile_mfa
from hankoflow.models import AuditLogEntry, OTPSecret
from hankoflow.services import notifications, webauthn
from hankoflow.testing.client import FlowClient

CONTINUE = n.ACTION_CONTINUE_TO_OTP_SECRET_CREATION
VERIFY = n.ACTION_OTP_CODE_VERIFY
DELETE = n.ACTION_OTP_SECRET_DELETE
PASSWORD = "correct horse battery"


@pytest.fixture
def notified(monkeypatch):
    sent = []

    def notify(account, kind, *, env, to=None, context=None):
        sent.append((account.pk, kind))

    monkeypatch.setattr(notifications, "notify", notify)
    return sent


@pytest.fixture
def configure(settings):
    def apply(**sections):
        settings.HANKOFLOW = {**settings.HANKOFLOW, **sections}

    return apply


def enrol(person, state, totp_now):
    state = person.act(state, CONTINUE)
    assert state.state == n.STATE_MFA_OTP_SECRET_CREATION, state.body
    secret = state.body["payload"]["otp_secret"]
    return secret, person.act(state, VERIFY, {"otp_code": totp_now(secret)})


def add_security_key(account, device):
    options = webauthn.registration_options(
        user_id=str(account.id),
        user_name="key",
        user_display_name="key",
        mfa_only=True,
        exclude_credential_ids=[],
        flow_id=None,
    )
    new = webauthn.verify_registration(
        options.challenge_id, device.create(options.options), flow_id=None
    )
    webauthn.save_credential(account, new)


def test_enrol_the_app_in_the_profile_then_sign_in_with_it(
    profile_session, totp_now, clock, notified
):
    person = profile_session()
    state = person.start()
    assert state.body["payload"]["user"]["mfa_config"]["auth_app_set_up"] is False
    assert DELETE not in state.body["actions"]
    state = person.act(state, CONTINUE)
    assert state.body["payload"]["otp_image_source"].startswith("data:image/png;base64,")
    assert set(state.body["actions"]) == {VERIFY, "back"}
    secret = state.body["payload"]["otp_secret"]

    state = person.act(state, VERIFY, {"otp_code": totp_now(secret)})

    assert state.state == n.STATE_PROFILE_INIT and state.status == 200
    assert state.body["payload"]["user"]["mfa_config"]["auth_app_set_up"] is True
    assert CONTINUE not in state.body["actions"] and DELETE in state.body["actions"]
    assert OTPSecret.objects.filter(account=person.account).count() == 1
    assert notified == [(person.account.pk, emails.MFA_CREATE)]
    assert AuditLogEntry.objects.filter(type="otp_created").count() == 1

    login = FlowClient()
    email = person.account.emails.get().address
    step = login.act(
        login.start("login"), "register_client_capabilities", {"webauthn_available": False}
    )
    step = login.act(step, "continue_with_login_identifier", {"email": email})
    step = login.act(step, "continue_to_password_login")
    step = login.act(step, "password_login", {"password": PASSWORD})
    assert step.state == n.STATE_LOGIN_OTP
    used = login.act(step, "otp_code_validate", {"otp_code": totp_now(secret)})
    assert used.status == 400  # the enrolment code is spent
    clock.advance(seconds=30)
    done = login.act(used, "otp_code_validate", {"otp_code": totp_now(secret)})
    assert done.state in ("success", "device_trust"), done.body


def test_wrong_code_keeps_the_same_secret(profile_session, totp_now):
    person = profile_session()
    state = person.act(person.start(), CONTINUE)
    secret = state.body["payload"]["otp_secret"]
    right = {totp_now(secret, steps) for steps in (-1, 0, 1)}
    wrong = next(code for code in ("000000", "111111", "222222", "333333") if code not in right)
    refused = person.act(state, VERIFY, {"otp_code": wrong})
    assert refused.input_error(VERIFY, "otp_code") == "passcode_invalid"
    assert refused.body["payload"]["otp_secret"] == secret
    assert not OTPSecret.objects.exists()


def test_back_from_enrolment_changes_nothing(profile_session, notified):
    person = profile_session()
    state = person.act(person.act(person.start(), CONTINUE), "back")
    assert state.state == n.STATE_PROFILE_INIT and CONTINUE in state.body["actions"]
    assert not OTPSecret.objects.exists() and notified == []


def test_enrolment_needs_totp_switched_on(profile_session, configure):
    configure(MFA={"TOTP": {"ENABLED": False}})
    assert CONTINUE not in profile_session().start().body["actions"]
    configure(MFA={"ENABLED": False})
    assert CONTINUE not in profile_session().start().body["actions"]


def test_delete_the_app(profile_session, account_factory, notified):
    account = account_factory(password=PASSWORD, totp=pyotp.random_base32())
    person = profile_session(account)
    state = person.start()
    assert state.body["actions"][DELETE]["inputs"] == {}
    state = person.act(state, DELETE)
    assert state.state == n.STATE_PROFILE_INIT and state.status == 200
    assert state.body["payload"]["user"]["mfa_config"]["auth_app_set_up"] is False
    assert DELETE not in state.body["actions"] and CONTINUE in state.body["actions"]
    assert not OTPSecret.objects.exists()
    assert notified == [(account.pk, emails.MFA_DELETE)]


def test_a_second_enrolment_in_the_same_flow_gets_a_new_secret(profile_session, totp_now):
    person = profile_session()
    first, state = enrol(person, person.start(), totp_now)
    state = person.act(state, DELETE)
    second = person.act(state, CONTINUE).body["payload"]["otp_secret"]
    assert second != first


def test_the_app_is_kept_when_it_is_the_last_second_factor_of_mandatory_mfa(
    profile_session, account_factory, soft_authenticator, configure
):
    configure(MFA={"OPTIONAL": False})
    account = account_factory(password=PASSWORD, totp=pyotp.random_base32())
    assert DELETE not in profile_session(account).start().body["actions"]
    add_security_key(account, soft_authenticator)
    person = profile_session(account)
    state = person.act(person.start(), DELETE)
    assert state.status == 200 and not OTPSecret.objects.exists()


def test_sensitive_actions_ask_for_reauthentication(
    profile_session, account_factory, monkeypatch, totp_now
):
    asked = []

    def check(ctx):
        asked.append(ctx.current_state)
        return None

    monkeypatch.setattr(profile_mfa, "reauthentication_required", check)
    person = profile_session()
    _, state = enrol(person, person.start(), totp_now)
    person.act(state, DELETE)
    assert asked == [n.STATE_PROFILE_INIT, n.STATE_PROFILE_INIT]


def test_a_refusing_reauthentication_check_keeps_the_app(
    profile_session, account_factory, monkeypatch
):
    from hankoflow import errors

    account = account_factory(password=PASSWORD, totp=pyotp.random_base32())
    monkeypatch.setattr(
        profile_mfa, "reauthentication_required", lambda ctx: ctx.error(errors.UNAUTHORIZED)
    )
    person = profile_session(account)
    refused = person.act(person.start(), DELETE)
    assert refused.status == 401 and OTPSecret.objects.exists()


def test_notifications_are_queued_to_the_primary_address(profile_session, totp_now):
    from hankoflow.models import OutboxEmail

    person = profile_session()
    _, state = enrol(person, person.start(), totp_now)
    person.act(state, DELETE)
    address = person.account.emails.get().address
    sent = list(OutboxEmail.objects.order_by("created_at").values_list("kind", "to"))
    assert sent == [(emails.MFA_CREATE, address), (emails.MFA_DELETE, address)]
