"""Auto-login by user assertion (FLOW_EXECUTION.AUTO_LOGIN): a completed sign-up answers
data.userAssertion, a short-lived JWT signed with the session keys, redeemed once at
POST /flow/assertion for a session."""

from __future__ import annotations

import json

import jwt
import pytest
from django.test import Client

from hankoflow import signals
from hankoflow.models import Account, AuditLogEntry, Session
from hankoflow.services import sessions, user_assertions

EMAIL = "auto.login@example.com"
PASSWORD = "correct horse battery"


@pytest.fixture
def auto_login(settings):
    settings.HANKOFLOW = {"FLOW_EXECUTION": {"AUTO_LOGIN": True}}


def sign_up(execution, passcode_outbox):
    step = execution.act(execution.start("REGISTRATION"), None, {"webauthn_available": False})
    step = execution.act(step, "register_login_identifier", {"email": EMAIL})
    step = execution.act(step, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    step = execution.act(step, "register_password", {"new_password": PASSWORD})
    done = execution.act(step, "skip")
    assert done.body["flowStatus"] == "COMPLETE"
    return done


def redeem(assertion, client=None):
    client = client or Client()
    body = json.dumps({"userAssertion": assertion})
    return client.post("/flow/assertion", body, content_type="application/json")


def test_without_auto_login_there_is_no_assertion_and_no_exchange(execution, passcode_outbox):
    assert sign_up(execution, passcode_outbox).data == {}
    assert redeem("x").status_code == 404


def test_the_assertion_is_a_short_lived_jwt_of_the_user(
    execution, passcode_outbox, auto_login, client
):
    done = sign_up(execution, passcode_outbox)
    assertion = done.data["userAssertion"]
    header = jwt.get_unverified_header(assertion)
    assert header["typ"] == "user-assertion+jwt" and header["alg"] == "RS256"
    jwks = client.get("/.well-known/jwks.json").json()["keys"]
    key = next(k for k in jwks if k["kid"] == header["kid"])  # verifiable by the app
    public = jwt.PyJWK(key).key
    claims = jwt.decode(
        assertion, public, algorithms=["RS256"], audience="hankoflow:user-assertion"
    )
    account = Account.objects.get(emails__address=EMAIL)
    assert claims["sub"] == str(account.pk)
    assert claims["exp"] - claims["iat"] == 60
    assert claims["amr"] == ["otp", "pwd"] and claims["flow_type"] == "REGISTRATION"
    assert "session_id" not in claims


def test_redeemed_once_for_a_session(execution, passcode_outbox, auto_login, request):
    assertion = sign_up(execution, passcode_outbox).data["userAssertion"]
    signalled = []
    receiver = lambda sender, **kwargs: signalled.append(kwargs)  # noqa: E731
    signals.login_succeeded.connect(receiver, weak=False)
    request.addfinalizer(lambda: signals.login_succeeded.disconnect(receiver))
    account = Account.objects.get(emails__address=EMAIL)
    before = Session.objects.filter(account=account).count()
    answer = redeem(assertion)
    assert answer.status_code == 200
    assert answer.json()["userId"] == str(account.pk)
    token = answer.cookies["hanko"].value
    assert sessions.decode(token)["sub"] == str(account.pk)
    assert Session.objects.filter(account=account).count() == before + 1
    assert [kwargs["session_id"] for kwargs in signalled] == [answer.json()["sessionId"]]
    login = AuditLogEntry.objects.filter(type="login_success", actor_user_id=account.pk).get()
    assert login.details["login_method"] == "user_assertion"
    replay = redeem(assertion)
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "invalid_user_assertion"


def test_tokens_of_one_kind_do_not_pass_as_the_other(execution, passcode_outbox, auto_login):
    done = sign_up(execution, passcode_outbox)
    session_token = done.response.cookies["hanko"].value
    assert redeem(session_token).status_code == 401  # a session is not an assertion
    assert sessions.decode(done.data["userAssertion"]) is None  # nor an assertion a session


@pytest.mark.parametrize("tamper", ["signature", "audience", "expired"])
def test_tampered_assertions_are_refused(execution, passcode_outbox, auto_login, clock, tamper):
    assertion = sign_up(execution, passcode_outbox).data["userAssertion"]
    if tamper == "signature":
        assertion = assertion[:-4] + ("AAAA" if not assertion.endswith("AAAA") else "BBBB")
    elif tamper == "audience":
        claims = jwt.decode(assertion, options={"verify_signature": False})
        claims["aud"] = ["localhost"]
        assertion = jwt.encode(claims, "s" * 64, algorithm="HS256")
    else:
        clock.advance(seconds=61)
    assert redeem(assertion).status_code == 401


@pytest.mark.parametrize("body", [b"{nope", b"[]"])
def test_malformed_exchange_bodies(auto_login, db, body):
    answer = Client().post("/flow/assertion", body, content_type="application/json")
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_request"


def test_a_missing_assertion_is_refused(auto_login, db):
    assert redeem(None).status_code == 401


def test_a_recovery_without_a_session_has_no_assertion(
    execution, passcode_outbox, auto_login, account_factory
):
    account_factory("jane@example.com", password="the old password")
    step = execution.act(execution.start("PASSWORD_RECOVERY"), None, {"webauthn_available": False})
    step = execution.act(step, "continue_with_recovery_identifier", {"email": "jane@example.com"})
    step = execution.act(step, "verify_passcode", {"code": passcode_outbox("jane@example.com")})
    done = execution.act(step, "password_recovery", {"new_password": "a brand new password"})
    assert done.body["flowStatus"] == "COMPLETE" and done.data == {}
    assert user_assertions.AUDIENCE == "hankoflow:user-assertion"
