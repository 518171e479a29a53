"""Re-authentication before a sensitive profile change (security-checks FL-11, PW-07; beyond
Hanko, whose profile never asks): ``PROFILE.REAUTHENTICATION_MAX_AGE`` after the session's last
authentication, a change first asks for a passkey, a password or an email passcode, plus the
second factor when the session had one.

The sensitive action here is ``session_delete`` (ending the person's other session): any other
sensitive action asks through the same ``reauthentication_required``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest

from hankoflow import errors
from hankoflow import names as n
from hankoflow.models import AuditLogEntry, Email, Flow, Session
from hankoflow.services import attempts, audit, sessions, webauthn
from hankoflow.testing.client import FlowClient, FlowResponse
from hankoflow.testing.openapi import assert_valid_flow_response
from hankoflow.testing.openapi_documents import validation_unavailable
from tests.flows.profile.conftest import ProfileSession

PASSWORD = "correct horse battery"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
LATER = {"seconds": 601}  # just past the default window of 600 s


def configure(settings, **sections: dict[str, Any]) -> None:
    merged = dict(getattr(settings, "HANKOFLOW", {}))
    for name, values in sections.items():
        merged[name] = {**merged.get(name, {}), **values}
    settings.HANKOFLOW = merged


# Hanko's profile has none of these states; its login answers them, and its clients render them
# by name, so their answers are checked against Hanko's login flow.
LOGIN_STATES = {
    n.STATE_LOGIN_PASSKEY,
    n.STATE_LOGIN_PASSWORD,
    n.STATE_LOGIN_SECURITY_KEY,
    n.STATE_LOGIN_OTP,
}


class ReauthFlowClient(FlowClient):
    """Checks every answer against Hanko's OpenAPI document: a re-authentication state as Hanko's
    login answers it, any other state as Hanko's profile does."""

    def __init__(self, client) -> None:
        super().__init__(client, validate=False)
        self.skipped_validation = validation_unavailable()

    def _post(self, path: str, body: bytes, *args: Any, **kwargs: Any) -> FlowResponse:
        answer = super()._post(path, body, *args, **kwargs)
        if self.skipped_validation is None:
            flow_path = "/login" if answer.state in LOGIN_STATES else urlsplit(path).path
            assert_valid_flow_response(flow_path, answer.status, answer.body)
        return answer


@pytest.fixture
def signed_in(signed_in_client, account_factory):
    """``signed_in(account=None, amr=("pwd",))``: a ``ProfileSession`` of a new session."""

    def make(account=None, *, amr=("pwd",)) -> ProfileSession:
        account = account or account_factory(password=PASSWORD)
        person = ProfileSession(signed_in_client(account, amr=amr), account)
        person.flows = ReauthFlowClient(person.client)
        return person

    return make


@pytest.fixture(autouse=True)
def _still(clock):
    clock.stop()  # waits and windows are exact


def other_session(person) -> str:
    """Sign the person in on another device; its id is what ``session_delete`` ends."""
    issued = sessions.issue(person.account, amr=["pwd"], env=None, remember_me=None)
    return issued.session_id


def end_session(person, state: FlowResponse, session_id: str) -> FlowResponse:
    return person.act(state, n.ACTION_SESSION_DELETE, {"session_id": session_id})


def exists(session_id: str) -> bool:
    return Session.objects.filter(pk=session_id).exists()


def current_session(person) -> Session:
    # Unverified: the token's own checks read the system clock, the test moved hankoflow's.
    claims = jwt.decode(person.client.session_token, options={"verify_signature": False})
    return Session.objects.get(pk=claims["session_id"])


def add_security_key(account, authenticator) -> None:
    options = webauthn.registration_options(
        user_id=str(account.id),
        user_name=str(account.id),
        user_display_name=str(account.id),
        mfa_only=True,
        exclude_credential_ids=[],
        flow_id=None,
    )
    new = webauthn.verify_registration(
        options.challenge_id, authenticator.create(options.options), flow_id=None
    )
    webauthn.save_credential(account, new)


# --- when it asks ---------------------------------------------------------------------------------


def test_a_new_session_changes_without_a_prompt(signed_in, clock):
    person = signed_in()
    other = other_session(person)
    clock.advance(seconds=599)  # within the window
    answer = end_session(person, person.start(), other)
    assert answer.state == n.STATE_PROFILE_INIT and answer.status == 200
    assert not exists(other)


def test_an_older_session_is_asked_for_its_password_first(signed_in, clock):
    person = signed_in()
    other = other_session(person)
    clock.advance(**LATER)
    asked = end_session(person, person.start(), other)
    assert asked.status == 200
    assert asked.state == n.STATE_LOGIN_PASSWORD
    assert set(asked.body["actions"]) == {n.ACTION_PASSWORD_LOGIN, "back"}
    assert exists(other)  # nothing changed yet

    done = person.act(asked, n.ACTION_PASSWORD_LOGIN, {"password": PASSWORD})
    assert done.status == 200 and done.state == n.STATE_PROFILE_INIT
    assert exists(other)  # the person repeats the change: nothing was kept for it
    assert current_session(person).authenticated_at == clock.now()
    entry = AuditLogEntry.objects.filter(type=audit.LOGIN_SUCCESS).latest("created_at")
    assert entry.details["context"] == "reauthentication"
    assert entry.details["login_method"] == n.LOGIN_METHOD_PASSWORD
    assert entry.details["session_id"] == str(current_session(person).pk)

    again = end_session(person, done, other)
    assert again.state == n.STATE_PROFILE_INIT and again.status == 200
    assert not exists(other)


def test_a_session_row_without_authenticated_at_counts_from_its_creation(signed_in, clock):
    person = signed_in()
    other = other_session(person)
    Session.objects.filter(pk=current_session(person).pk).update(authenticated_at=None)
    assert end_session(person, person.start(), other).state == n.STATE_PROFILE_INIT
    clock.advance(**LATER)
    another = other_session(person)
    assert end_session(person, person.start(), another).state == n.STATE_LOGIN_PASSWORD


def test_max_age_zero_never_asks(signed_in, clock, settings):
    configure(settings, PROFILE={"REAUTHENTICATION_MAX_AGE": 0})
    person = signed_in()
    other = other_session(person)
    clock.advance(days=0.4)
    answer = end_session(person, person.start(), other)
    assert answer.state == n.STATE_PROFILE_INIT
    assert not exists(other)


def test_the_window_follows_the_setting(signed_in, clock, settings):
    configure(settings, PROFILE={"REAUTHENTICATION_MAX_AGE": 60})
    person = signed_in()
    other = other_session(person)
    clock.advance(seconds=61)
    assert end_session(person, person.start(), other).state == n.STATE_LOGIN_PASSWORD


def test_back_returns_to_profile_init_without_the_change(signed_in, clock):
    person = signed_in()
    other = other_session(person)
    clock.advance(**LATER)
    asked = end_session(person, person.start(), other)
    back = person.act(asked, "back")
    assert back.status == 200 and back.state == n.STATE_PROFILE_INIT
    assert exists(other)
    assert n.ACTION_SESSION_DELETE in back.body["actions"]
    # Still not re-authenticated: the next try asks again.
    assert end_session(person, back, other).state == n.STATE_LOGIN_PASSWORD


# --- the time lives on the session row ------------------------------------------------------------


def test_a_new_profile_flow_of_the_same_session_does_not_ask_again(signed_in, clock):
    person = signed_in()
    other = other_session(person)
    clock.advance(**LATER)
    asked = end_session(person, person.start(), other)
    person.act(asked, n.ACTION_PASSWORD_LOGIN, {"password": PASSWORD})

    answer = end_session(person, person.start(), other)  # a new flow, e.g. a page reload
    assert answer.state == n.STATE_PROFILE_INIT
    assert not exists(other)


def test_another_session_of_the_same_person_is_still_asked(signed_in, clock):
    person = signed_in()
    elsewhere = signed_in(person.account)  # the same account in another browser, as old
    third = other_session(person)
    clock.advance(**LATER)
    asked = end_session(person, person.start(), third)
    person.act(asked, n.ACTION_PASSWORD_LOGIN, {"password": PASSWORD})
    assert current_session(elsewhere).authenticated_at < current_session(person).authenticated_at

    assert end_session(elsewhere, elsewhere.start(), third).state == n.STATE_LOGIN_PASSWORD
    assert exists(third)


def test_the_window_starts_again_after_a_re_authentication(signed_in, clock):
    person = signed_in()
    other = other_session(person)
    clock.advance(**LATER)
    asked = end_session(person, person.start(), other)
    done = person.act(asked, n.ACTION_PASSWORD_LOGIN, {"password": PASSWORD})
    clock.advance(**LATER)
    assert end_session(person, done, other).state == n.STATE_LOGIN_PASSWORD


# --- password -------------------------------------------------------------------------------------


def test_a_wrong_password_is_the_logins_field_error(signed_in, clock):
    person = signed_in()
    other = other_session(person)
    clock.advance(**LATER)
    asked = end_session(person, person.start(), other)
    wrong = person.act(asked, n.ACTION_PASSWORD_LOGIN, {"password": "not the password"})
    assert wrong.status == 400 and wrong.state == n.STATE_LOGIN_PASSWORD
    assert wrong.input_error(n.ACTION_PASSWORD_LOGIN, "password") == "value_invalid_error"
    failures = AuditLogEntry.objects.filter(
        actor_user_id=person.account.pk, type=audit.LOGIN_FAILURE
    )
    assert [e.details.get("context") for e in failures] == ["reauthentication"]
    missing = person.act(wrong, n.ACTION_PASSWORD_LOGIN, {})
    assert missing.status == 400 and missing.state == n.STATE_LOGIN_PASSWORD
    assert exists(other)


def test_the_accounts_attempt_budget_holds_the_right_password_too(signed_in, clock):
    person = signed_in()
    other = other_session(person)
    clock.advance(**LATER)
    state = end_session(person, person.start(), other)
    for guess in range(attempts.NETWORK_FREE):
        person.client.defaults["REMOTE_ADDR"] = f"198.51.100.{20 + guess}"  # fresh per-IP limit
        state = person.act(state, n.ACTION_PASSWORD_LOGIN, {"password": f"guess {guess}"})
        assert state.status == 400
    person.client.defaults["REMOTE_ADDR"] = "198.51.100.60"
    refused = person.act(state, n.ACTION_PASSWORD_LOGIN, {"password": PASSWORD})
    assert refused.status == 429 and refused.state == n.STATE_LOGIN_PASSWORD
    assert refused.error_code == errors.RATE_LIMIT_EXCEEDED.code
    assert refused.body["payload"]["retry_after"] == 1
    clock.advance(seconds=1)
    done = person.act(refused, n.ACTION_PASSWORD_LOGIN, {"password": PASSWORD})
    assert done.state == n.STATE_PROFILE_INIT


def test_the_per_ip_password_limit_applies(signed_in, clock):
    person = signed_in()
    other = other_session(person)
    clock.advance(**LATER)
    state = end_session(person, person.start(), other)
    statuses = []
    for guess in range(6):
        state = person.act(state, n.ACTION_PASSWORD_LOGIN, {"password": f"guess {guess}"})
        statuses.append(state.status)
    assert statuses[-1] == 429 and state.state == n.STATE_LOGIN_PASSWORD


# --- passkey --------------------------------------------------------------------------------------


def test_a_passkey_is_asked_first_when_the_browser_can(
    signed_in, account_factory, soft_authenticator, clock
):
    account = account_factory(password=PASSWORD, passkey=soft_authenticator)
    person = signed_in(account)
    other = other_session(person)
    clock.advance(**LATER)
    asked = end_session(person, person.start(), other)
    assert asked.state == n.STATE_LOGIN_PASSKEY
    assert set(asked.body["actions"]) == {n.ACTION_WEBAUTHN_VERIFY_ASSERTION_RESPONSE, "back"}
    options = asked.body["payload"]["request_options"]
    allowed = [c["id"] for c in options["publicKey"]["allowCredentials"]]
    assert allowed == [soft_authenticator.credential().id_b64]

    assertion = soft_authenticator.get(options)
    done = person.act(
        asked, n.ACTION_WEBAUTHN_VERIFY_ASSERTION_RESPONSE, {"assertion_response": assertion}
    )
    assert done.status == 200 and done.state == n.STATE_PROFILE_INIT
    assert end_session(person, done, other).state == n.STATE_PROFILE_INIT
    assert not exists(other)


def test_without_webauthn_in_the_browser_the_password_is_asked(
    signed_in, account_factory, soft_authenticator, clock
):
    account = account_factory(password=PASSWORD, passkey=soft_authenticator)
    person = signed_in(account)
    other = other_session(person)
    clock.advance(**LATER)
    assert end_session(person, person.start(webauthn=False), other).state == (
        n.STATE_LOGIN_PASSWORD
    )


def test_another_users_passkey_is_refused(signed_in, account_factory, soft_authenticator, clock):
    account = account_factory(password=PASSWORD, passkey=soft_authenticator)
    stranger = account_factory(passkey=soft_authenticator)  # same authenticator, other user
    stranger_credential = soft_authenticator.credential().id_b64
    person = signed_in(account)
    other = other_session(person)
    clock.advance(**LATER)
    asked = end_session(person, person.start(), other)
    options = asked.body["payload"]["request_options"]
    forged = soft_authenticator.get(options, credential_id=stranger_credential)
    refused = person.act(
        asked, n.ACTION_WEBAUTHN_VERIFY_ASSERTION_RESPONSE, {"assertion_response": forged}
    )
    assert refused.status == 401 and refused.error_code == errors.PASSKEY_INVALID.code
    assert refused.state == n.STATE_LOGIN_PASSKEY
    assert "request_options" in refused.body["payload"]  # a fresh challenge to try again
    assert exists(other)
    assert stranger.pk != account.pk
    # The person's own passkey on the fresh challenge still works.
    mine = soft_authenticator.get(
        refused.body["payload"]["request_options"],
        credential_id=webauthn.credentials_of(account)[0].id,
    )
    done = person.act(
        refused, n.ACTION_WEBAUTHN_VERIFY_ASSERTION_RESPONSE, {"assertion_response": mine}
    )
    assert done.state == n.STATE_PROFILE_INIT


def test_a_broken_assertion_is_no_500(signed_in, account_factory, soft_authenticator, clock):
    account = account_factory(password=PASSWORD, passkey=soft_authenticator)
    person = signed_in(account)
    other = other_session(person)
    clock.advance(**LATER)
    asked = end_session(person, person.start(), other)
    for junk in ({"id": "x"}, "not json", {}):
        asked = person.act(
            asked, n.ACTION_WEBAUTHN_VERIFY_ASSERTION_RESPONSE, {"assertion_response": junk}
        )
        assert asked.status in (400, 401), asked.body
        assert asked.state == n.STATE_LOGIN_PASSKEY


def test_back_from_the_passkey_prompt(signed_in, account_factory, soft_authenticator, clock):
    account = account_factory(password=PASSWORD, passkey=soft_authenticator)
    person = signed_in(account)
    other = other_session(person)
    clock.advance(**LATER)
    asked = end_session(person, person.start(), other)
    back = person.act(asked, "back")  # what the element's auto-step does when WebAuthn fails
    assert back.state == n.STATE_PROFILE_INIT and exists(other)
    # No passkey on this device: the next try in this flow asks for the password instead.
    again = end_session(person, back, other)
    assert again.state == n.STATE_LOGIN_PASSWORD
    done = person.act(again, n.ACTION_PASSWORD_LOGIN, {"password": PASSWORD})
    assert done.state == n.STATE_PROFILE_INIT
    # A new flow (a reload) offers the passkey first again.
    clock.advance(**LATER)
    assert end_session(person, person.start(), other).state == n.STATE_LOGIN_PASSKEY


def test_a_declined_passkey_in_a_two_factor_session_means_password_and_second_factor(
    signed_in, account_factory, soft_authenticator, totp_now, clock
):
    account = account_factory(password=PASSWORD, passkey=soft_authenticator, totp=TOTP_SECRET)
    person = signed_in(account, amr=("passkey", "totp"))
    other = other_session(person)
    clock.advance(**LATER)
    asked = end_session(person, person.start(), other)
    assert asked.state == n.STATE_LOGIN_PASSKEY
    back = person.act(asked, "back")
    password = end_session(person, back, other)
    assert password.state == n.STATE_LOGIN_PASSWORD
    otp = person.act(password, n.ACTION_PASSWORD_LOGIN, {"password": PASSWORD})
    assert otp.state == n.STATE_LOGIN_OTP
    done = person.act(otp, n.ACTION_OTP_CODE_VALIDATE, {"otp_code": totp_now(TOTP_SECRET)})
    assert done.state == n.STATE_PROFILE_INIT


# --- email passcode -------------------------------------------------------------------------------


def test_without_a_password_a_passcode_goes_to_the_primary_address(
    signed_in, account_factory, passcode_outbox, clock
):
    account = account_factory("pat@example.com")
    person = signed_in(account)
    other = other_session(person)
    clock.advance(**LATER)
    asked = end_session(person, person.start(), other)
    assert asked.state == n.STATE_PASSCODE_CONFIRMATION
    code = passcode_outbox("pat@example.com")
    assert code

    wrong_code = "000000" if code != "000000" else "111111"
    wrong = person.act(asked, n.ACTION_VERIFY_PASSCODE, {"code": wrong_code})
    assert wrong.status == 400 and wrong.state == n.STATE_PASSCODE_CONFIRMATION
    resent = person.act(wrong, n.ACTION_RESEND_PASSCODE)
    assert resent.state == n.STATE_PASSCODE_CONFIRMATION
    assert exists(other)
    code = passcode_outbox("pat@example.com")
    done = person.act(resent, n.ACTION_VERIFY_PASSCODE, {"code": code})
    assert done.status == 200 and done.state == n.STATE_PROFILE_INIT
    entry = AuditLogEntry.objects.filter(type=audit.LOGIN_SUCCESS).latest("created_at")
    assert entry.details["context"] == "reauthentication"
    assert entry.details["login_method"] == n.LOGIN_METHOD_PASSCODE
    assert end_session(person, done, other).state == n.STATE_PROFILE_INIT
    assert not exists(other)


def test_a_resend_does_not_count_as_re_authentication(
    signed_in, account_factory, passcode_outbox, clock
):
    account = account_factory("pat@example.com")
    person = signed_in(account)
    other = other_session(person)
    clock.advance(**LATER)
    asked = end_session(person, person.start(), other)
    resent = person.act(asked, n.ACTION_RESEND_PASSCODE)
    back = person.act(resent, "back")
    assert back.state == n.STATE_PROFILE_INIT
    assert end_session(person, back, other).state == n.STATE_PASSCODE_CONFIRMATION


def test_no_method_at_all_refuses_the_change(signed_in, account_factory, clock, settings):
    configure(settings, EMAIL={"USE_FOR_AUTHENTICATION": False})
    account = account_factory("pat@example.com")  # no password, no passkey
    person = signed_in(account)
    other = other_session(person)
    clock.advance(**LATER)
    refused = end_session(person, person.start(), other)
    assert refused.status == 403 and refused.state == n.STATE_PROFILE_INIT
    assert refused.error_code == errors.OPERATION_NOT_PERMITTED.code
    assert exists(other)


# --- second factor --------------------------------------------------------------------------------


def test_a_session_signed_in_with_totp_is_asked_for_it_again(
    signed_in, account_factory, totp_now, clock
):
    account = account_factory(password=PASSWORD, totp=TOTP_SECRET)
    person = signed_in(account, amr=("pwd", "totp"))
    other = other_session(person)
    clock.advance(**LATER)
    asked = end_session(person, person.start(), other)
    after_password = person.act(asked, n.ACTION_PASSWORD_LOGIN, {"password": PASSWORD})
    assert after_password.state == n.STATE_LOGIN_OTP
    assert n.ACTION_OTP_CODE_VALIDATE in after_password.body["actions"]
    assert exists(other)  # the change waits
    wrong = person.act(after_password, n.ACTION_OTP_CODE_VALIDATE, {"otp_code": "000000"})
    assert wrong.status == 400 and wrong.state == n.STATE_LOGIN_OTP
    done = person.act(wrong, n.ACTION_OTP_CODE_VALIDATE, {"otp_code": totp_now(TOTP_SECRET)})
    assert done.status == 200 and done.state == n.STATE_PROFILE_INIT
    assert end_session(person, done, other).state == n.STATE_PROFILE_INIT


def test_a_session_with_one_factor_is_not_asked_for_the_second(signed_in, account_factory, clock):
    account = account_factory(password=PASSWORD, totp=TOTP_SECRET)
    person = signed_in(account)  # amr ["pwd"]
    other = other_session(person)
    clock.advance(**LATER)
    asked = end_session(person, person.start(), other)
    done = person.act(asked, n.ACTION_PASSWORD_LOGIN, {"password": PASSWORD})
    assert done.state == n.STATE_PROFILE_INIT


def test_a_security_key_second_factor(signed_in, account_factory, soft_authenticator, clock):
    account = account_factory(password=PASSWORD, totp=TOTP_SECRET)
    add_security_key(account, soft_authenticator)
    person = signed_in(account, amr=("pwd", "security_key"))
    other = other_session(person)
    clock.advance(**LATER)
    asked = end_session(person, person.start(), other)
    assert asked.state == n.STATE_LOGIN_PASSWORD  # a security key is no first factor
    key_state = person.act(asked, n.ACTION_PASSWORD_LOGIN, {"password": PASSWORD})
    assert key_state.state == n.STATE_LOGIN_SECURITY_KEY
    assert n.ACTION_CONTINUE_TO_LOGIN_OTP in key_state.body["actions"]
    prompt = person.act(key_state, n.ACTION_WEBAUTHN_GENERATE_REQUEST_OPTIONS)
    assert prompt.state == n.STATE_LOGIN_PASSKEY
    assertion = soft_authenticator.get(prompt.body["payload"]["request_options"])
    done = person.act(
        prompt, n.ACTION_WEBAUTHN_VERIFY_ASSERTION_RESPONSE, {"assertion_response": assertion}
    )
    assert done.status == 200 and done.state == n.STATE_PROFILE_INIT
    assert end_session(person, done, other).state == n.STATE_PROFILE_INIT


def test_back_from_the_second_factor_changes_nothing(signed_in, account_factory, clock):
    account = account_factory(password=PASSWORD, totp=TOTP_SECRET)
    person = signed_in(account, amr=("pwd", "totp"))
    other = other_session(person)
    clock.advance(**LATER)
    asked = end_session(person, person.start(), other)
    otp = person.act(asked, n.ACTION_PASSWORD_LOGIN, {"password": PASSWORD})
    back = person.act(otp, "back")
    assert back.state == n.STATE_PROFILE_INIT and exists(other)
    assert end_session(person, back, other).state == n.STATE_LOGIN_PASSWORD


def test_a_passcode_then_the_sessions_second_factor(
    signed_in, account_factory, passcode_outbox, totp_now, clock
):
    account = account_factory("pat@example.com", totp=TOTP_SECRET)  # no password
    person = signed_in(account, amr=("otp", "totp"))
    other = other_session(person)
    clock.advance(**LATER)
    asked = end_session(person, person.start(), other)
    assert asked.state == n.STATE_PASSCODE_CONFIRMATION
    code = passcode_outbox("pat@example.com")
    otp = person.act(asked, n.ACTION_VERIFY_PASSCODE, {"code": code})
    assert otp.state == n.STATE_LOGIN_OTP
    assert exists(other)
    done = person.act(otp, n.ACTION_OTP_CODE_VALIDATE, {"otp_code": totp_now(TOTP_SECRET)})
    assert done.state == n.STATE_PROFILE_INIT
    assert end_session(person, done, other).state == n.STATE_PROFILE_INIT


# --- through other sensitive actions --------------------------------------------------------------


def test_password_update_is_repeated_after_re_authentication_and_never_stashed(signed_in, clock):
    person = signed_in()
    new_password = "a brand new passphrase"
    clock.advance(**LATER)
    state = person.start()
    asked = person.act(state, n.ACTION_PASSWORD_UPDATE, {"password": new_password})
    assert asked.state == n.STATE_LOGIN_PASSWORD
    stored = Flow.objects.get(pk=state.action_param(n.ACTION_PASSWORD_UPDATE).split("@")[1])
    assert new_password not in json.dumps(stored.stash)

    done = person.act(asked, n.ACTION_PASSWORD_LOGIN, {"password": PASSWORD})
    person.account.user.refresh_from_db()
    assert person.account.user.check_password(PASSWORD)  # not changed by the re-authentication
    changed = person.act(done, n.ACTION_PASSWORD_UPDATE, {"password": new_password})
    assert changed.state == n.STATE_PROFILE_INIT and changed.status == 200
    person.account.user.refresh_from_db()
    assert person.account.user.check_password(new_password)


def test_an_email_added_after_a_passcode_re_authentication_needs_its_own_code(
    signed_in, account_factory, passcode_outbox, clock
):
    account = account_factory("pat@example.com")  # re-authenticates by passcode
    person = signed_in(account)
    clock.advance(**LATER)
    state = person.start()
    asked = person.act(state, n.ACTION_EMAIL_CREATE, {"email": "second@example.com"})
    assert asked.state == n.STATE_PASSCODE_CONFIRMATION
    done = person.act(asked, n.ACTION_VERIFY_PASSCODE, {"code": passcode_outbox("pat@example.com")})
    assert done.state == n.STATE_PROFILE_INIT
    assert not Email.objects.filter(address="second@example.com").exists()

    verifying = person.act(done, n.ACTION_EMAIL_CREATE, {"email": "second@example.com"})
    assert verifying.state == n.STATE_PASSCODE_CONFIRMATION
    resent = person.act(verifying, n.ACTION_RESEND_PASSCODE)  # runs the after-state hooks
    assert resent.state == n.STATE_PASSCODE_CONFIRMATION
    assert not Email.objects.filter(address="second@example.com").exists()
    code = passcode_outbox("second@example.com")
    added = person.act(resent, n.ACTION_VERIFY_PASSCODE, {"code": code})
    assert added.state == n.STATE_PROFILE_INIT
    assert Email.objects.get(address="second@example.com").is_verified


def test_a_passkey_must_verify_the_user_when_the_session_had_two_factors(
    signed_in, account_factory, soft_authenticator, clock
):
    account = account_factory(password=PASSWORD, passkey=soft_authenticator, totp=TOTP_SECRET)
    person = signed_in(account, amr=("pwd", "totp"))
    other = other_session(person)
    clock.advance(**LATER)
    asked = end_session(person, person.start(), other)
    options = asked.body["payload"]["request_options"]
    assert options["publicKey"]["userVerification"] == "required"
    presence_only = soft_authenticator.get(options, user_verified=False)
    refused = person.act(
        asked, n.ACTION_WEBAUTHN_VERIFY_ASSERTION_RESPONSE, {"assertion_response": presence_only}
    )
    assert refused.status == 401 and refused.state == n.STATE_LOGIN_PASSKEY
    options = refused.body["payload"]["request_options"]
    assert options["publicKey"]["userVerification"] == "required"
    verified = soft_authenticator.get(options)
    done = person.act(
        refused, n.ACTION_WEBAUTHN_VERIFY_ASSERTION_RESPONSE, {"assertion_response": verified}
    )
    assert done.state == n.STATE_PROFILE_INIT  # a verified passkey is both factors
