"""hankoflow's signals and Django's own, through real flow steps: who is told what, once, and
nothing secret in any argument."""

from __future__ import annotations

import pyotp
import pytest
from django.contrib.auth import user_logged_in, user_logged_out
from django.http import HttpRequest
from django.test import Client, override_settings

from hankoflow import signals
from hankoflow.models import Account, OTPSecret, WebauthnCredential
from hankoflow.services import totp
from hankoflow.testing.client import FlowClient
from hankoflow.testing.webauthn import SoftAuthenticator
from tests.flows.test_passkeys_and_mfa import ORIGIN, create_passkey

EMAIL = "jane@example.com"
PASSWORD = "a long enough password"
NO_WEBAUTHN = {"webauthn_available": False}
WEBAUTHN = {"webauthn_available": True, "webauthn_platform_authenticator_available": True}

SIGNALS = {
    "user_registered": signals.user_registered,
    "login_succeeded": signals.login_succeeded,
    "login_failed": signals.login_failed,
    "credential_added": signals.credential_added,
    "credential_removed": signals.credential_removed,
    "session_revoked": signals.session_revoked,
    "user_logged_in": user_logged_in,
    "user_logged_out": user_logged_out,
}


@pytest.fixture
def sent():
    """Every signal above sent during the test, in order: ``(name, sender, kwargs)``, and for
    each whether the account it names was already in the database when it was sent."""
    received: list[tuple[str, object, dict]] = []
    receivers = []
    for name, signal in SIGNALS.items():

        def receiver(sender, signal=None, _name=name, **kwargs):
            account = kwargs.get("account")
            stored = account is not None and Account.objects.filter(pk=account.pk).exists()
            kwargs["_stored"] = stored
            received.append((_name, sender, kwargs))

        signal.connect(receiver, weak=False)
        receivers.append((signal, receiver))
    yield received
    for signal, receiver in receivers:
        signal.disconnect(receiver)


def names(sent) -> list[str]:
    return [name for name, _, _ in sent]


def only(sent, name: str) -> dict:
    [kwargs] = [kwargs for called, _, kwargs in sent if called == name]
    return kwargs


def start(flow_client: FlowClient, flow: str, capabilities=NO_WEBAUTHN):
    first = flow_client.start(flow)
    return flow_client.act(first, "register_client_capabilities", capabilities)


def sign_up_to_mfa_chooser(flow_client, passcode_outbox, capabilities=NO_WEBAUTHN):
    state = start(flow_client, "registration", capabilities)
    state = flow_client.act(state, "register_login_identifier", {"email": EMAIL})
    state = flow_client.act(state, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    state = flow_client.act(state, "register_password", {"new_password": PASSWORD})
    assert state.state == "mfa_method_chooser"
    return state


def password_login(flow_client, password=PASSWORD):
    state = start(flow_client, "login")
    state = flow_client.act(state, "continue_with_login_identifier", {"email": EMAIL})
    state = flow_client.act(state, "continue_to_password_login")
    return flow_client.act(state, "password_login", {"password": password})


# --- sign-up --------------------------------------------------------------------------------------


def test_sign_up_sends_user_registered_then_credentials_then_django_login(
    flow_client, passcode_outbox, sent
):
    done = flow_client.act(sign_up_to_mfa_chooser(flow_client, passcode_outbox), "skip")
    assert done.state == "success"
    assert names(sent) == ["user_registered", "credential_added", "user_logged_in"]
    account = Account.objects.get(pk=done.body["payload"]["user"]["id"])
    registered = only(sent, "user_registered")
    assert registered["account"] == account and registered["user"] == account.user
    assert isinstance(registered["request"], HttpRequest)
    assert registered["_stored"]  # sent once the account is written, inside the step
    added = only(sent, "credential_added")
    assert (added["kind"], added["credential_id"]) == (signals.CREDENTIAL_PASSWORD, None)
    assert sent[0][1] is Account  # sender
    logged_in = only(sent, "user_logged_in")
    assert logged_in["user"] == account.user and isinstance(logged_in["request"], HttpRequest)


def test_sign_up_with_totp_and_passkey_announces_each_credential(
    flow_client, passcode_outbox, sent
):
    device = SoftAuthenticator(ORIGIN)
    state = sign_up_to_mfa_chooser(flow_client, passcode_outbox, WEBAUTHN)
    state = flow_client.act(state, "continue_to_otp_secret_creation")
    code = pyotp.TOTP(state.body["payload"]["otp_secret"]).now()
    state = flow_client.act(state, "otp_code_verify", {"otp_code": code})
    done = create_passkey(flow_client, state, device)
    assert done.state == "success"
    added = [(kw["kind"], kw["credential_id"]) for n, _, kw in sent if n == "credential_added"]
    assert added == [
        (signals.CREDENTIAL_PASSWORD, None),
        (signals.CREDENTIAL_PASSKEY, WebauthnCredential.objects.get().id),
        (signals.CREDENTIAL_TOTP, str(OTPSecret.objects.get().id)),
    ]
    assert names(sent)[0] == "user_registered" and names(sent)[-1] == "user_logged_in"


# --- sign-in --------------------------------------------------------------------------------------


def test_login_sends_django_user_logged_in_then_login_succeeded(account_factory, sent):
    account = account_factory(EMAIL, password=PASSWORD)
    done = password_login(FlowClient())
    assert done.state == "success"
    assert names(sent) == ["user_logged_in", "login_succeeded"]
    succeeded = only(sent, "login_succeeded")
    assert succeeded["account"] == account and succeeded["user"] == account.user
    assert succeeded["amr"] == ["pwd"]
    assert succeeded["session_id"] == done.body["payload"]["claims"]["session_id"]
    assert isinstance(succeeded["request"], HttpRequest)
    assert only(sent, "user_logged_in")["user"] == account.user


def test_a_wrong_password_sends_login_failed_masked_and_without_the_password(account_factory, sent):
    account = account_factory(EMAIL, password=PASSWORD)
    state = password_login(FlowClient(), password="not the password")
    assert state.status == 400
    assert names(sent) == ["login_failed"]
    failed = only(sent, "login_failed")
    assert failed["account"] == account
    assert failed["identifier"] == "j*****@example.com"
    assert (failed["method"], failed["reason"]) == (
        signals.LOGIN_METHOD_PASSWORD,
        signals.FAILURE_WRONG_PASSWORD,
    )
    assert isinstance(failed["request"], HttpRequest)
    assert "not the password" not in repr({k: v for k, v in failed.items() if k != "request"})


def test_a_login_failed_receiver_that_raises_cannot_roll_back_the_attempt_count(
    account_factory, caplog
):
    from hankoflow.models import AttemptBudget

    account_factory(EMAIL, password=PASSWORD)

    def broken(**kwargs):
        raise RuntimeError("receiver bug")

    signals.login_failed.connect(broken)
    try:
        state = password_login(FlowClient(), password="not the password")
    finally:
        signals.login_failed.disconnect(broken)
    assert state.status == 400  # the wrong password's answer, not a 500
    assert AttemptBudget.objects.filter(failures__gt=0).exists()  # the failure stayed counted
    assert "login_failed receiver" in caplog.text


def test_a_wrong_passcode_sends_login_failed_without_the_code(
    flow_client, account_factory, passcode_outbox, sent
):
    account_factory(EMAIL)
    state = start(flow_client, "login")
    state = flow_client.act(state, "continue_with_login_identifier", {"email": EMAIL})
    state = flow_client.act(state, "continue_to_passcode_confirmation")
    wrong = "000000" if passcode_outbox(EMAIL) != "000000" else "111111"
    flow_client.act(state, "verify_passcode", {"code": wrong})
    failed = only(sent, "login_failed")
    assert failed["account"] is None  # never looked up for the signal alone
    assert failed["identifier"] == "j*****@example.com"
    assert failed["reason"] == signals.FAILURE_WRONG_PASSCODE
    assert failed["method"] == signals.LOGIN_METHOD_PASSCODE
    assert wrong not in repr({k: v for k, v in failed.items() if k != "request"})


def test_a_wrong_totp_code_sends_login_failed(flow_client, passcode_outbox, sent):
    state = sign_up_to_mfa_chooser(flow_client, passcode_outbox)
    state = flow_client.act(state, "continue_to_otp_secret_creation")
    secret = state.body["payload"]["otp_secret"]
    flow_client.act(state, "otp_code_verify", {"otp_code": pyotp.TOTP(secret).now()})
    sent.clear()
    login = FlowClient()
    state = password_login(login)
    assert state.state == "login_otp"
    right = pyotp.TOTP(secret).now()
    login.act(state, "otp_code_validate", {"otp_code": "000000" if right != "000000" else "1"})
    failed = only(sent, "login_failed")
    assert (failed["method"], failed["reason"]) == (
        signals.LOGIN_METHOD_TOTP,
        signals.FAILURE_WRONG_OTP_CODE,
    )
    assert failed["account"] is not None and failed["identifier"] == "j*****@example.com"


def test_a_refused_passkey_sends_login_failed(flow_client, passcode_outbox, sent):
    device = SoftAuthenticator(ORIGIN)
    state = sign_up_to_mfa_chooser(flow_client, passcode_outbox, WEBAUTHN)
    create_passkey(flow_client, flow_client.act(state, "skip"), device)
    sent.clear()
    login = FlowClient()
    state = start(login, "login", WEBAUTHN)
    state = login.act(state, "webauthn_generate_request_options")
    options = state.body["payload"]["request_options"]
    assertion = device.get(options)
    assertion["response"]["signature"] = assertion["response"]["signature"][::-1]
    login.act(state, "webauthn_verify_assertion_response", {"assertion_response": assertion})
    failed = only(sent, "login_failed")
    assert (failed["method"], failed["reason"]) == (
        signals.LOGIN_METHOD_PASSKEY,
        signals.FAILURE_INVALID_PASSKEY,
    )
    assert failed["identifier"] is None


# --- credentials at sign-in, removal, logout ------------------------------------------------------


def test_totp_set_up_at_login_sends_credential_added(account_factory, sent):
    account = account_factory(EMAIL, password=PASSWORD)
    with override_settings(HANKOFLOW={"MFA": {"ACQUIRE_ON_LOGIN": True}}):
        login = FlowClient()
        state = password_login(login)
        assert state.state == "mfa_method_chooser"
        state = login.act(state, "continue_to_otp_secret_creation")
        code = pyotp.TOTP(state.body["payload"]["otp_secret"]).now()
        login.act(state, "otp_code_verify", {"otp_code": code})
    added = only(sent, "credential_added")
    assert added["account"] == account and added["kind"] == signals.CREDENTIAL_TOTP
    assert added["credential_id"] == str(OTPSecret.objects.get().id)


def test_removing_the_totp_secret_sends_credential_removed(account_factory, sent):
    account = account_factory(EMAIL)
    secret = totp.save_secret(account, pyotp.random_base32(), last_step=None)
    assert totp.remove_secret(account) is True
    removed = only(sent, "credential_removed")
    assert (removed["kind"], removed["credential_id"]) == (signals.CREDENTIAL_TOTP, str(secret.pk))
    assert removed["account"] == account and removed["request"] is None
    assert totp.remove_secret(account) is False
    assert names(sent) == ["credential_removed"]  # nothing to remove: nothing sent


def test_logout_sends_session_revoked_and_django_user_logged_out(account_factory, sent):
    account = account_factory(EMAIL, password=PASSWORD)
    done = password_login(FlowClient())
    client = Client()
    client.cookies["hanko"] = done.cookies["hanko"].value
    sent.clear()
    assert client.post("/logout").status_code == 204
    assert names(sent) == ["session_revoked", "user_logged_out"]
    logged_out = only(sent, "user_logged_out")
    assert logged_out["user"] == account.user and isinstance(logged_out["request"], HttpRequest)
    assert only(sent, "session_revoked")["reason"] == signals.REASON_LOGOUT
