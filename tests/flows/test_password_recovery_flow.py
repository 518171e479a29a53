"""The standalone ``password_recovery`` flow (beyond Hanko, issue 15): address, emailed
passcode, the enrolled second factor, new password, then ``password_changed`` or (auto-login)
``success``; served at ``POST /password_recovery`` in the Hanko dialect."""

from __future__ import annotations

import json

import pyotp
import pytest

from hankoflow import names as n
from hankoflow.models import AuditLogEntry, Session
from hankoflow.services import passwords, sessions
from hankoflow.testing.client import FlowClient

EMAIL = "jane@example.com"
OLD = "the old password"
NEW = "a brand new password"
AUTO_LOGIN = {"PASSWORD_RECOVERY": {"AUTO_LOGIN": True}}


@pytest.fixture
def recovery(db) -> FlowClient:
    return FlowClient(validate=False)  # Hanko's OpenAPI document has no /password_recovery


def init(client: FlowClient, **capabilities):
    start = client.start(n.FLOW_PASSWORD_RECOVERY)
    assert start.state == n.STATE_PREFLIGHT
    reported = {"webauthn_available": False, **capabilities}
    return client.act(start, "register_client_capabilities", reported)


def to_passcode(client: FlowClient, email: str = EMAIL):
    state = client.act(init(client), "continue_with_recovery_identifier", {"email": email})
    assert state.state == n.STATE_PASSCODE_CONFIRMATION
    return state


def password_works(account, password: str) -> bool:
    account.user.refresh_from_db()
    return account.user.check_password(password)


def test_recovery_without_auto_login_ends_in_password_changed(
    recovery, account_factory, passcode_outbox
):
    account = account_factory(EMAIL, password=OLD)
    state = init(recovery)
    assert state.state == n.STATE_PASSWORD_RECOVERY_INIT
    assert state.body["actions"]["continue_with_recovery_identifier"]["inputs"] == {
        "email": {"name": "email", "type": "email", "min_length": 3, "max_length": 120,
                  "required": True}
    }  # fmt: skip
    state = recovery.act(state, "continue_with_recovery_identifier", {"email": " Jane@Example.com"})
    assert state.state == n.STATE_PASSCODE_CONFIRMATION
    assert set(state.body["actions"]) == {"verify_passcode", "resend_passcode", "back"}
    state = recovery.act(state, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    assert state.state == n.STATE_LOGIN_PASSWORD_RECOVERY
    done = recovery.act(state, "password_recovery", {"new_password": NEW})

    assert done.state == n.STATE_PASSWORD_CHANGED
    assert done.body["actions"] == {}
    assert "claims" not in done.body["payload"]
    assert "hanko" not in done.cookies
    assert not Session.objects.filter(account=account).exists()
    assert password_works(account, NEW) and not password_works(account, OLD)
    changed = AuditLogEntry.objects.get(type="password_changed", actor_user_id=account.id)
    assert changed.details["context"] == "recovery"


def test_the_recovery_email_is_the_login_flows_recovery_template(
    recovery, account_factory, mailoutbox
):
    account_factory(EMAIL, password=OLD)
    to_passcode(recovery)
    [message] = mailoutbox
    assert "regain access" in message.body  # templates/hankoflow/email/recovery.txt


def test_recovery_ends_the_other_sessions(recovery, account_factory, passcode_outbox):
    account = account_factory(EMAIL, password=OLD)
    other = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    assert sessions.validate(other.token) is not None
    state = to_passcode(recovery)
    state = recovery.act(state, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    recovery.act(state, "password_recovery", {"new_password": NEW})

    assert sessions.validate(other.token) is None
    logged_out = AuditLogEntry.objects.get(type="user_logged_out", actor_user_id=account.id)
    assert logged_out.details["reason"] == "credential_reset"
    assert logged_out.details["session_ids"] == [other.session_id]


def test_auto_login_issues_a_session_as_login_does(
    recovery, account_factory, passcode_outbox, settings
):
    settings.HANKOFLOW = AUTO_LOGIN
    account = account_factory(EMAIL, password=OLD)
    other = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    state = to_passcode(recovery)
    state = recovery.act(state, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    done = recovery.act(state, "password_recovery", {"new_password": NEW})

    assert done.state == n.STATE_SUCCESS
    assert done.body["payload"]["claims"]["subject"] == str(account.id)
    assert done.body["payload"]["claims"]["amr"] == ["pwd"]
    assert done.body["payload"]["user"]["id"] == str(account.id)
    assert "hanko" in done.cookies
    [kept] = Session.objects.filter(account=account)  # the new one; the other ended
    assert str(kept.pk) != other.session_id
    login = AuditLogEntry.objects.get(type="login_success", actor_user_id=account.id)
    assert login.details["login_method"] == "password"


def test_unknown_address_walks_the_same_states_and_gets_no_code(
    recovery, account_factory, passcode_outbox, mailoutbox
):
    account_factory(EMAIL, password=OLD)
    known = to_passcode(recovery)
    unknown = to_passcode(FlowClient(validate=False), "nobody@example.com")

    assert (unknown.status, unknown.state) == (known.status, known.state)
    assert unknown.body["actions"].keys() == known.body["actions"].keys()
    assert unknown.body["payload"] == known.body["payload"]
    assert passcode_outbox("nobody@example.com") is None  # a notice, no code
    assert [m.to for m in mailoutbox] == [[EMAIL], ["nobody@example.com"]]

    # Whatever is guessed, the unknown address gets what a wrong code gets.
    guessed = FlowClient(validate=False).act(unknown, "verify_passcode", {"code": "123456"})
    wrong = recovery.act(known, "verify_passcode", {"code": "000000"})
    assert guessed.status == wrong.status == 400
    assert guessed.input_error("verify_passcode", "code") == "passcode_invalid"
    assert wrong.input_error("verify_passcode", "code") == "passcode_invalid"


def test_unknown_address_with_existence_hints(recovery, settings):
    settings.HANKOFLOW = {"PRIVACY": {"SHOW_ACCOUNT_EXISTENCE_HINTS": True}}
    state = recovery.act(
        init(recovery), "continue_with_recovery_identifier", {"email": "nobody@example.com"}
    )
    assert state.input_error("continue_with_recovery_identifier", "email") == (
        "unknown_email_error"
    )


def test_new_password_follows_the_sign_up_rules(recovery, account_factory, passcode_outbox):
    account = account_factory(EMAIL, password=OLD)
    state = to_passcode(recovery)
    state = recovery.act(state, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    short = recovery.act(state, "password_recovery", {"new_password": "short"})
    assert short.input_error("password_recovery", "new_password") == "value_too_short_error"
    common = recovery.act(short, "password_recovery", {"new_password": "password123"})
    assert common.state == n.STATE_LOGIN_PASSWORD_RECOVERY
    assert common.input_error("password_recovery", "new_password") == (
        passwords.new_password_errors("password123", account=account).code
    )
    assert password_works(account, OLD)


@pytest.mark.parametrize("auto_login", [True, False])
def test_a_totp_user_gives_the_second_factor_before_the_new_password(
    recovery, account_factory, passcode_outbox, settings, auto_login
):
    """security-checks PW-08: an enrolled second factor is still required before a session."""
    settings.HANKOFLOW = {"PASSWORD_RECOVERY": {"AUTO_LOGIN": auto_login}}
    secret = pyotp.random_base32()
    account = account_factory(EMAIL, password=OLD, totp=secret)
    state = to_passcode(recovery)
    state = recovery.act(state, "verify_passcode", {"code": passcode_outbox(EMAIL)})

    assert state.state == n.STATE_LOGIN_OTP
    assert "password_recovery" not in state.body["actions"]
    # The new password's action, posted out of turn, is refused.
    href = state.href("otp_code_validate").replace("otp_code_validate%40", "password_recovery%40")
    body = {"input_data": {"new_password": NEW}, "csrf_token": state.csrf_token}
    skipped = recovery.post_raw(href, json.dumps(body).encode())
    assert skipped.status == 403 and skipped.error_code == "operation_not_permitted_error"
    assert password_works(account, OLD)
    wrong = recovery.act(state, "otp_code_validate", {"otp_code": "000000"})
    assert wrong.input_error("otp_code_validate", "otp_code") == "passcode_invalid"
    assert not Session.objects.filter(account=account).exists()

    state = recovery.act(wrong, "otp_code_validate", {"otp_code": pyotp.TOTP(secret).now()})
    assert state.state == n.STATE_LOGIN_PASSWORD_RECOVERY
    done = recovery.act(state, "password_recovery", {"new_password": NEW})
    if auto_login:
        assert done.state == n.STATE_SUCCESS
        assert done.body["payload"]["claims"]["amr"] == ["pwd", "totp"]
    else:
        assert done.state == n.STATE_PASSWORD_CHANGED
        assert not Session.objects.filter(account=account).exists()
    assert password_works(account, NEW)


def test_switched_off_with_password_recovery(recovery, settings):
    settings.HANKOFLOW = {"PASSWORD": {"RECOVERY": False}}
    state = init(recovery)
    assert state.state == n.STATE_PASSWORD_RECOVERY_INIT
    assert state.body["actions"] == {}


def test_the_passcode_send_limit_is_the_login_flows(recovery, account_factory, settings):
    settings.HANKOFLOW = {"RATE_LIMITER": {"PASSCODE_LIMITS": {"TOKENS": 1, "INTERVAL": 60}}}
    account_factory(EMAIL, password=OLD)
    first = to_passcode(recovery)
    again = recovery.act(first, "resend_passcode")
    assert again.status == 429 and again.error_code == "rate_limit_exceeded"
    assert again.body["payload"]["resend_after"] > 0
