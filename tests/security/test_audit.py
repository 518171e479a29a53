"""Audit coverage, secrets, integrity (security-checks AU-01, AU-02, AU-03; WH-04's payload scan).

The secret collector: a whole registration, sign-in, failed sign-ins and sign-out run with
every log record captured, a webhook subscribed to every event and the audit table watched;
then no password, session token or API key may appear in any of them, and the passcode only in
the ``email.send`` event (its delivery path) and the email itself.
"""

from __future__ import annotations

import json
import logging
import re

import pyotp
import pytest
from django.apps import apps
from django.test import Client

from hankoflow import clock
from hankoflow.models import AuditLogEntry, OutboxEmail, WebhookDelivery
from hankoflow.services import api_keys, audit, sessions
from hankoflow.services.webhooks import payloads

pytestmark = pytest.mark.django_db

EMAIL = "jane@example.com"
PASSWORD = "Secret-Password-4711"
WRONG = "Wrong-Password-0815"
NO_WEBAUTHN = {"webauthn_available": False}
EVERYTHING = {"CALLBACK": "http://127.0.0.1:9/hook", "EVENTS": ["user", "session", "email.send"]}


@pytest.fixture(autouse=True)
def hooked(settings):
    settings.HANKOFLOW = {"WEBHOOKS": {"ENABLED": True, "HOOKS": [EVERYTHING]}}


def holds_code(text: str, code: str) -> bool:
    """A six-digit code standing alone (not inside a timestamp, a UUID or a hex digest)."""
    return re.search(rf"(?<![0-9a-fA-F]){code}(?![0-9a-fA-F])", text) is not None


def audit_rows() -> list[dict]:
    return list(AuditLogEntry.objects.order_by("created_at").values())


def audit_text() -> str:
    return json.dumps(audit_rows(), default=str)


def webhook_payloads() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in WebhookDelivery.objects.all():
        found.setdefault(row.event, []).append(json.dumps(payloads.unseal(row.data)))
    return found


def sign_up(flow_client, passcode_outbox):
    state = flow_client.start("registration")
    state = flow_client.act(state, "register_client_capabilities", NO_WEBAUTHN)
    state = flow_client.act(state, "register_login_identifier", {"email": EMAIL})
    code = passcode_outbox(EMAIL)
    state = flow_client.act(state, "verify_passcode", {"code": code})
    state = flow_client.act(state, "register_password", {"new_password": PASSWORD})
    done = flow_client.act(state, "skip")
    assert done.state == "success", done.body
    return code, done


def to_password(flow_client):
    state = flow_client.start("login")
    state = flow_client.act(state, "register_client_capabilities", NO_WEBAUTHN)
    state = flow_client.act(state, "continue_with_login_identifier", {"email": EMAIL})
    return flow_client.act(state, "continue_to_password_login")


def test_no_secret_reaches_logs_audit_rows_webhooks_or_other_answers(
    flow_client, passcode_outbox, caplog
):
    caplog.set_level(logging.DEBUG)
    code, signed_up = sign_up(flow_client, passcode_outbox)
    state = to_password(flow_client)
    state = flow_client.act(state, "password_login", {"password": WRONG})
    done = flow_client.act(state, "password_login", {"password": PASSWORD})
    assert done.state == "success"
    token = done.cookies["hanko"].value
    client = Client(headers={"Authorization": f"Bearer {token}"})
    me = client.get("/me")
    user = client.get(f"/users/{me.json()['id']}")
    key = api_keys.create("collector", scope=api_keys.FULL).plaintext
    admin_user = Client(headers={"Authorization": f"Bearer {key}"}).get(
        f"/admin-api/users/{me.json()['id']}"
    )
    assert client.post("/logout").status_code == 204

    secrets = {
        "password": PASSWORD,
        "wrong password": WRONG,
        "session token": token,
        "signup token": signed_up.cookies["hanko"].value,
        "token signature": token.rsplit(".", 1)[1],
        "api key": key[len("hfk_") + 6 :],
    }
    places = {
        "logs": caplog.text,
        "audit rows": audit_text(),
        "outbox rows": json.dumps(list(OutboxEmail.objects.values()), default=str),
        "/me": me.content.decode(),
        "/users/{id}": user.content.decode(),
        "admin user": admin_user.content.decode(),
        "str() of every row": "\n".join(
            repr(row) + str(row)
            for model in apps.get_app_config("hankoflow").get_models()
            for row in model.objects.all()
        ),
        **{f"webhook {e}": "".join(p) for e, p in webhook_payloads().items()},
    }
    leaks = [(s, p) for s, v in secrets.items() for p, text in places.items() if v in text]
    assert leaks == []
    # The passcode: in the email.send event (the receiver may deliver it) and nowhere else.
    code_places = [p for p, text in places.items() if holds_code(text, code)]
    assert code_places == ["webhook email.send"]
    # Session events carry ids, never the token.
    assert "session.create.flow" in webhook_payloads()


def test_repr_and_str_of_issued_secrets_hide_them(account):
    issued = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    new = api_keys.create("shown-once", scope=api_keys.READ)
    assert issued.token not in repr(issued) and issued.token not in str(issued)
    assert new.plaintext not in repr(new) and new.plaintext not in str(new.key)


@pytest.mark.parametrize(
    "identifier", ['evil\r\n{"type": "login_success"}@example.com', "a\x1b[31mred@example.com"]
)
def test_control_characters_in_identifiers_cannot_forge_log_lines(flow_client, caplog, identifier):
    caplog.set_level(logging.INFO, logger="hankoflow.audit")
    state = flow_client.start("login")
    state = flow_client.act(state, "register_client_capabilities", NO_WEBAUTHN)
    answer = flow_client.act(state, "continue_with_login_identifier", {"email": identifier})
    assert answer.status < 500
    for record in caplog.records:
        message = record.getMessage()
        assert "\r" not in message and "\n" not in message and "\x1b" not in message
        if record.name == "hankoflow.audit":
            json.loads(message)  # one JSON document per line


# --- AU-01: sign-in successes and failures, by method ---------------------------------------


def test_sign_in_failures_and_success_are_audited_with_their_method(
    flow_client, passcode_outbox, account_factory
):
    account = account_factory(EMAIL, password=PASSWORD)
    state = to_password(flow_client)
    state = flow_client.act(state, "password_login", {"password": WRONG})
    state = flow_client.act(state, "password_login", {"password": PASSWORD})
    assert state.state == "success"
    # passcode: a wrong code, then the right one
    state = flow_client.start("login")
    state = flow_client.act(state, "register_client_capabilities", NO_WEBAUTHN)
    state = flow_client.act(state, "continue_with_login_identifier", {"email": EMAIL})
    state = flow_client.act(state, "continue_to_passcode_confirmation")
    code = passcode_outbox(EMAIL)
    state = flow_client.act(
        state, "verify_passcode", {"code": "000000" if code != "000000" else "1" * 6}
    )
    state = flow_client.act(state, "verify_passcode", {"code": code})
    assert state.state == "success"
    seen = [
        (row["type"], row["details"].get("login_method"), str(row["actor_user_id"] or ""))
        for row in audit_rows()
        if row["type"] in ("login_failure", "login_success")
    ]
    assert seen == [
        ("login_failure", "password", str(account.pk)),
        ("login_success", "password", str(account.pk)),
        ("login_failure", "passcode", ""),  # no account named: the code is the address's
        ("login_success", "passcode", str(account.pk)),
    ]


# --- AU-03: the audit trail is read-only through every API --------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_admin_api_cannot_change_or_delete_audit_rows(account, method):
    sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    audit.record(audit.LOGIN_SUCCESS, env=None, account=account)
    before = audit_rows()
    key = api_keys.create("full", scope=api_keys.FULL).plaintext
    client = Client(headers={"Authorization": f"Bearer {key}"})
    entry_id = before[0]["id"]
    for path in ("/admin-api/audit_logs", f"/admin-api/audit_logs/{entry_id}"):
        response = getattr(client, method)(path, "{}", content_type="application/json")
        assert response.status_code in (404, 405), (path, response.status_code)
    assert audit_rows() == before


def test_a_wrong_totp_code_is_audited_as_a_failed_sign_in(flow_client, account_factory):
    secret = pyotp.random_base32()
    account = account_factory(EMAIL, password=PASSWORD, totp=secret)
    now = pyotp.TOTP(secret).timecode(clock.now())
    near = {pyotp.TOTP(secret).generate_otp(now + step) for step in (-2, -1, 0, 1, 2)}
    code = next(
        c for c in ("000000", "111111", "222222", "333333", "444444", "555555") if c not in near
    )
    state = flow_client.act(to_password(flow_client), "password_login", {"password": PASSWORD})
    assert state.state == "login_otp", state.body
    wrong = flow_client.act(state, "otp_code_validate", {"otp_code": code})
    assert wrong.status == 400
    [row] = AuditLogEntry.objects.filter(type="login_failure")
    assert row.actor_user_id == account.pk
    assert row.details["mfa_method"] == "totp"
    assert not holds_code(json.dumps(row.details), code) and not holds_code(row.error, code)


def test_a_totp_secret_and_codes_never_leave(flow_client, account_factory, caplog):
    caplog.set_level(logging.DEBUG)
    secret = pyotp.random_base32()
    account = account_factory(EMAIL, password=PASSWORD, totp=secret)
    state = flow_client.act(to_password(flow_client), "password_login", {"password": PASSWORD})
    code = pyotp.TOTP(secret).at(clock.now())
    state = flow_client.act(state, "otp_code_validate", {"otp_code": code})
    if state.state == "device_trust":
        state = flow_client.act(state, "skip")
    assert state.state == "success", state.body
    key = api_keys.create("collector", scope=api_keys.READ).plaintext
    admin_user = Client(headers={"Authorization": f"Bearer {key}"}).get(
        f"/admin-api/users/{account.pk}"
    )
    token = state.cookies["hanko"].value
    me = Client(headers={"Authorization": f"Bearer {token}"}).get("/me")
    places = [
        caplog.text,
        audit_text(),
        "".join("".join(p) for p in webhook_payloads().values()),
        admin_user.content.decode(),
        me.content.decode(),
        json.dumps(state.body),
    ]
    assert webhook_payloads()  # user.login and session.create were emitted and scanned
    assert all(secret not in text and not holds_code(text, code) for text in places)
