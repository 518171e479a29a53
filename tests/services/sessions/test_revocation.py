"""Revoking sessions: after a password recovery, on logout, by the limit and the idle timeout
(security-checks SE-05, SE-07; issue 8 defect 5), with the ``session_revoked`` signal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client, RequestFactory, override_settings

from hankoflow import signals
from hankoflow.models import AuditLogEntry, Session, TrustedDevice
from hankoflow.services import device_trust, sessions
from hankoflow.testing.client import FlowClient

pytestmark = pytest.mark.django_db

EMAIL = "jane@example.com"
OLD_PASSWORD = "the old password"
NEW_PASSWORD = "the new password"


@pytest.fixture
def revoked():
    """Every ``session_revoked`` sent during the test, as its keyword arguments."""
    received: list[dict] = []

    def receiver(sender, **kwargs):
        assert sender is Session
        received.append(kwargs)

    signals.session_revoked.connect(receiver)
    yield received
    signals.session_revoked.disconnect(receiver)


def signed_in(token: str) -> bool:
    return Client().get("/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def recover(flow_client: FlowClient, passcode_outbox):
    state = to_password_recovery(flow_client, passcode_outbox)
    return flow_client.act(state, "password_recovery", {"new_password": NEW_PASSWORD})


def to_password_recovery(flow_client: FlowClient, passcode_outbox):
    state = flow_client.start("login")
    state = flow_client.act(state, "register_client_capabilities", {"webauthn_available": False})
    state = flow_client.act(state, "continue_with_login_identifier", {"email": EMAIL})
    state = flow_client.act(state, "continue_to_password_login")
    state = flow_client.act(state, "continue_to_passcode_confirmation_recovery")
    state = flow_client.act(state, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    assert state.state == "login_password_recovery"
    return state


def trust_device(account) -> str:
    effect = device_trust.trust(RequestFactory().post("/login"), account)
    return effect.value


def is_trusted(account, cookie: str) -> bool:
    request = RequestFactory().post("/login", HTTP_COOKIE=f"hanko-device-token={cookie}")
    return device_trust.is_trusted(request, account)


# --- password recovery (SE-07) -------------------------------------------------------------------


def test_password_recovery_ends_every_other_session(
    flow_client, account_factory, passcode_outbox, revoked
):
    account = account_factory(EMAIL, password=OLD_PASSWORD)
    other = account_factory("someone@example.com", password=OLD_PASSWORD)
    laptop = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    phone = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    someone_else = sessions.issue(other, amr=["pwd"], env=None, remember_me=None)
    trusted = trust_device(account)
    assert signed_in(laptop.token) and signed_in(phone.token) and is_trusted(account, trusted)

    done = recover(flow_client, passcode_outbox)

    assert done.state == "success"
    assert not signed_in(laptop.token) and not signed_in(phone.token)
    assert not is_trusted(account, trusted)
    assert signed_in(someone_else.token)
    # The session the recovery itself issued is the user's only one, and it works.
    assert flow_client.client.get("/me").status_code == 200
    remaining = Session.objects.filter(account=account).values_list("pk", flat=True)
    assert [str(pk) for pk in remaining] == [done.body["payload"]["claims"]["session_id"]]
    assert sorted(str(kw["session"].pk) for kw in revoked) == sorted(
        [laptop.session_id, phone.session_id]
    )
    assert {kw["reason"] for kw in revoked} == {signals.REASON_CREDENTIAL_RESET}
    assert all(kw["account"].pk == account.pk and kw["request"] is not None for kw in revoked)
    entry = AuditLogEntry.objects.get(type="user_logged_out")
    assert entry.actor_user_id == account.pk
    assert entry.details["reason"] == signals.REASON_CREDENTIAL_RESET
    assert entry.details["context"] == "recovery"
    assert sorted(entry.details["session_ids"]) == sorted([laptop.session_id, phone.session_id])
    assert entry.details["trusted_devices"] == 1
    assert entry.details["flow_id"]


def test_password_recovery_from_a_signed_in_browser_replaces_its_session(
    flow_client, account_factory, passcode_outbox
):
    account = account_factory(EMAIL, password=OLD_PASSWORD)
    before = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    flow_client.client.cookies["hanko"] = before.token
    done = recover(flow_client, passcode_outbox)
    assert done.state == "success"
    assert not signed_in(before.token)
    me = flow_client.client.get("/me")  # the cookie the recovery set replaced the old one
    assert me.status_code == 200 and me.json()["user_id"] == str(account.pk)


def test_a_failed_recovery_step_revokes_nothing(
    flow_client, account_factory, passcode_outbox, monkeypatch, revoked
):
    # Same transaction: when the step fails after the revocation, the sessions stay.
    from hankoflow.actions.credential_usage import password as password_actions

    account = account_factory(EMAIL, password=OLD_PASSWORD)
    laptop = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    trusted = trust_device(account)

    def fail(ctx):
        raise RuntimeError("a later part of the step failed")

    client = FlowClient(Client(raise_request_exception=False), validate=False)
    state = to_password_recovery(client, passcode_outbox)
    monkeypatch.setattr(password_actions, "schedule_mfa_creation", fail)
    failed = client.act(state, "password_recovery", {"new_password": NEW_PASSWORD})
    assert failed.status == 500
    assert signed_in(laptop.token) and is_trusted(account, trusted)
    assert not AuditLogEntry.objects.filter(type="user_logged_out").exists()


def test_recovery_without_other_sessions_writes_no_revocation_entry(
    flow_client, account_factory, passcode_outbox
):
    account_factory(EMAIL, password=OLD_PASSWORD)
    assert recover(flow_client, passcode_outbox).state == "success"
    assert not AuditLogEntry.objects.filter(type="user_logged_out").exists()


# --- the service and the other ways a session ends --------------------------------------------


def test_revoke_all_ends_sessions_and_trust(account, other_account, revoked):
    first = sessions.issue(account, amr=[], env=None, remember_me=None)
    second = sessions.issue(account, amr=[], env=None, remember_me=None)
    kept = sessions.issue(other_account, amr=[], env=None, remember_me=None)
    trust_device(account)
    assert sessions.revoke_all(account, audit_details={"context": "test"}) == 2
    assert sessions.validate(first.token) is None and sessions.validate(second.token) is None
    assert sessions.validate(kept.token) is not None
    assert not TrustedDevice.objects.filter(account=account).exists()
    assert [kw["reason"] for kw in revoked] == [signals.REASON_REVOKED] * 2
    entry = AuditLogEntry.objects.get(type="user_logged_out")
    assert entry.details["context"] == "test" and entry.details["reason"] == "revoked"


def test_logout_sends_session_revoked(session_cookie_client, issued, revoked):
    response = session_cookie_client.post("/logout")
    assert response.status_code == 204
    assert [(str(kw["session"].pk), kw["reason"]) for kw in revoked] == [
        (issued.session_id, signals.REASON_LOGOUT)
    ]
    assert revoked[0]["request"] is not None


@pytest.fixture
def session_cookie_client(issued) -> Client:
    client = Client()
    client.cookies["hanko"] = issued.token
    return client


@override_settings(HANKOFLOW={"SESSION": {"LIMIT": 2}})
def test_the_session_limit_sends_session_revoked(account, revoked):
    oldest = sessions.issue(account, amr=[], env=None, remember_me=None)
    Session.objects.filter(pk=oldest.session_id).update(
        created_at=Session.objects.get(pk=oldest.session_id).created_at - timedelta(seconds=5)
    )
    sessions.issue(account, amr=[], env=None, remember_me=None)
    sessions.issue(account, amr=[], env=None, remember_me=None)
    assert [(str(kw["session"].pk), kw["reason"]) for kw in revoked] == [
        (oldest.session_id, signals.REASON_LIMIT)
    ]


@override_settings(HANKOFLOW={"SESSION": {"IDLE_TIMEOUT": 60}})
def test_the_idle_timeout_sends_session_revoked(issued, clock, revoked):
    clock.advance(seconds=61)
    assert Client().get("/me", HTTP_AUTHORIZATION=f"Bearer {issued.token}").status_code == 401
    assert [(str(kw["session"].pk), kw["reason"]) for kw in revoked] == [
        (issued.session_id, signals.REASON_IDLE_TIMEOUT)
    ]
    # A second request finds no row: nothing is announced twice.
    Client().get("/me", HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    assert len(revoked) == 1


def test_every_reason_is_listed():
    reasons = {getattr(signals, name) for name in dir(signals) if name.startswith("REASON_")}
    assert reasons == signals.SESSION_REVOKED_REASONS
