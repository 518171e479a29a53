"""Every event is emitted where its change happens (platform.md §5.2), with its payload (§5.4):
flows, logout, the session service, the outbox.

A settings hook subscribed to everything records the deliveries; its callback is a loopback
address, so each attempt is refused at once (no network) and only the rows matter here.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from hankoflow import emails as kinds
from hankoflow import names as n
from hankoflow.models import Account, Email, Session, Webhook, WebhookDelivery
from hankoflow.services import accounts, mail, notifications, sessions, webhooks
from hankoflow.services.webhooks import events, payloads, sources
from hankoflow.testing.client import FlowClient
from tests.flows.profile.conftest import ProfileSession
from tests.flows.profile.conftest import profile_session as profile_session_fixture

EMAIL = "jane@example.com"
PASSWORD = "a long enough password"
NO_WEBAUTHN = {"webauthn_available": False}
EVERYTHING = {"CALLBACK": "http://127.0.0.1:9/hook", "EVENTS": ["user", "session", "email.send"]}


def merged(settings, **sections) -> None:
    values = dict(getattr(settings, "HANKOFLOW", {}))
    for name, section in sections.items():
        values[name] = {**values.get(name, {}), **section}
    settings.HANKOFLOW = values


@pytest.fixture(autouse=True)
def hooked(settings):
    merged(settings, WEBHOOKS={"ENABLED": True, "HOOKS": [EVERYTHING]})


def emitted(*prefixes: str) -> list[str]:
    names = WebhookDelivery.objects.order_by("created_at").values_list("event", flat=True)
    return [e for e in names if not prefixes or e.startswith(prefixes)]


def data_of(event: str) -> list[dict]:
    rows = WebhookDelivery.objects.filter(event=event).order_by("created_at")
    return [payloads.unseal(row.data) for row in rows]


# --- registration and login -------------------------------------------------------------------


def test_registration_emits_email_send_user_create_and_session_create(
    flow_client: FlowClient, passcode_outbox
):
    state = flow_client.start("registration", **{"User-Agent": "Browser/1.0"})
    state = flow_client.act(state, "register_client_capabilities", NO_WEBAUTHN)
    state = flow_client.act(state, "register_login_identifier", {"email": EMAIL})
    code = passcode_outbox(EMAIL)
    state = flow_client.act(state, "verify_passcode", {"code": code})
    state = flow_client.act(state, "register_password", {"new_password": PASSWORD})
    done = flow_client.act(state, "skip", **{"User-Agent": "Browser/1.0"})
    assert done.state == "success"
    assert emitted() == ["email.send", "user.create", "session.create.flow"]
    [sent] = data_of("email.send")
    assert sent["type"] == "email_verification" and sent["to_email_address"] == EMAIL
    assert sent["data"]["otp_code"] == code and sent["data"]["ttl"] == 300
    assert sent["delivered_by_hanko"] is True and code in sent["body_plain"]
    [user] = data_of("user.create")
    assert user["id"] == done.body["payload"]["user"]["id"]
    assert user["emails"][0]["address"] == EMAIL
    assert user["ip_address"] == "127.0.0.1" and user["user_agent"] == "Browser/1.0"
    [session] = data_of("session.create.flow")
    assert session["user_id"] == user["id"]
    assert session["id"] == done.body["payload"]["claims"]["session_id"]
    assert set(session) == {"id", "user_id", "user_agent", "ip_address", "created_at",
                            "updated_at", "expires_at", "last_used"}  # fmt: skip


def test_the_passcode_is_not_stored_in_the_clear(flow_client, passcode_outbox):
    state = flow_client.start("registration")
    state = flow_client.act(state, "register_client_capabilities", NO_WEBAUTHN)
    flow_client.act(state, "register_login_identifier", {"email": EMAIL})
    code = passcode_outbox(EMAIL)
    [row] = WebhookDelivery.objects.filter(event="email.send")
    assert set(row.data) == {"sealed"} and code not in str(row.data)


def test_password_login_emits_user_login_and_session_create(flow_client, account_factory):
    account = account_factory(EMAIL, password=PASSWORD)
    state = flow_client.start("login")
    state = flow_client.act(state, "register_client_capabilities", NO_WEBAUTHN)
    state = flow_client.act(state, "continue_with_login_identifier", {"email": EMAIL})
    state = flow_client.act(state, "continue_to_password_login")
    done = flow_client.act(state, "password_login", {"password": PASSWORD})
    assert done.state == "success"
    assert emitted() == ["session.create.flow", "user.login"]
    [user] = data_of("user.login")
    assert user["id"] == str(account.id) and user["ip_address"] == "127.0.0.1"


def test_a_failed_login_emits_nothing(flow_client, account_factory):
    account_factory(EMAIL, password=PASSWORD)
    state = flow_client.start("login")
    state = flow_client.act(state, "register_client_capabilities", NO_WEBAUTHN)
    state = flow_client.act(state, "continue_with_login_identifier", {"email": EMAIL})
    state = flow_client.act(state, "continue_to_password_login")
    assert flow_client.act(state, "password_login", {"password": "wrong one!"}).status == 400
    assert emitted() == []


def test_password_recovery_emits_the_password_update(flow_client, account_factory, passcode_outbox):
    account_factory(EMAIL, password=PASSWORD)
    state = flow_client.start("login")
    state = flow_client.act(state, "register_client_capabilities", NO_WEBAUTHN)
    state = flow_client.act(state, "continue_with_login_identifier", {"email": EMAIL})
    state = flow_client.act(state, "continue_to_password_login")
    state = flow_client.act(state, "continue_to_passcode_confirmation_recovery")
    state = flow_client.act(state, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    done = flow_client.act(state, "password_recovery", {"new_password": "another good one"})
    assert done.state == "success", done.body
    assert emitted("user") == ["user.update.password.update", "user.login"]
    assert data_of("email.send")[0]["type"] == "recovery"  # then any notification


# --- the profile ------------------------------------------------------------------------------


profile_session = profile_session_fixture


@pytest.fixture
def person(profile_session) -> ProfileSession:  # noqa: F811
    person = profile_session(None)
    WebhookDelivery.objects.all().delete()
    return person


def test_profile_email_create_delete_and_primary(person, passcode_outbox, settings):
    merged(settings, EMAIL={"REQUIRE_VERIFICATION": False})
    state = person.act(person.start(), n.ACTION_EMAIL_CREATE, {"email": "new@example.com"})
    assert state.state == n.STATE_PROFILE_INIT
    new_id = str(Email.objects.get(address="new@example.com").pk)
    assert emitted("user") == ["user.update.email.create"]
    assert [e["address"] for e in data_of("user.update.email.create")[0]["emails"]] == [
        person.account.emails.get(is_primary=True).address,
        "new@example.com",
    ]
    state = person.act(state, n.ACTION_EMAIL_SET_PRIMARY, {"email_id": new_id})
    old_id = str(Email.objects.get(account=person.account, is_primary=False).pk)
    state = person.act(state, n.ACTION_EMAIL_DELETE, {"email_id": old_id})
    assert state.state == n.STATE_PROFILE_INIT, state.body
    assert emitted("user") == [
        "user.update.email.create",
        "user.update.email.primary",
        "user.update.email.delete",
    ]
    # The security notifications are email.send events too.
    types = [d["data"]["template"] for d in data_of("email.send")]
    assert types == [kinds.EMAIL_CREATE, kinds.PRIMARY_EMAIL_UPDATE, kinds.EMAIL_DELETE]
    assert {d["type"] for d in data_of("email.send")} == {"security_notification"}
    assert data_of("email.send")[1]["data"]["old_email_address"] != "new@example.com"
    assert data_of("email.send")[1]["data"]["new_email_address"] == "new@example.com"


def test_profile_email_create_with_a_passcode(person, passcode_outbox):
    state = person.act(person.start(), n.ACTION_EMAIL_CREATE, {"email": "new@example.com"})
    state = person.act(
        state, n.ACTION_VERIFY_PASSCODE, {"code": passcode_outbox("new@example.com")}
    )
    assert state.state == n.STATE_PROFILE_INIT
    assert emitted("user") == ["user.update.email.create"]


def test_profile_password_update(person):
    state = person.act(person.start(), n.ACTION_PASSWORD_UPDATE, {"password": "a new password!"})
    assert state.state == n.STATE_PROFILE_INIT, state.body
    assert emitted("user") == ["user.update.password.update"]
    assert data_of("email.send")[0]["data"]["template"] == kinds.PASSWORD_UPDATE


def test_profile_username_create_update_delete(person, settings):
    merged(settings, USERNAME={"ENABLED": True, "OPTIONAL": True})
    state = person.act(person.start(), n.ACTION_USERNAME_CREATE, {"username": "jane"})
    state = person.act(state, n.ACTION_USERNAME_UPDATE, {"username": "jane2"})
    state = person.act(state, n.ACTION_USERNAME_DELETE)
    assert state.state == n.STATE_PROFILE_INIT, state.body
    assert emitted("user") == [
        "user.update.username.create",
        "user.update.username.update",
        "user.update.username.delete",
    ]
    assert data_of("user.update.username.update")[0]["username"]["username"] == "jane2"


def test_profile_session_delete_emits_explicit_revoke(person):
    other = sessions.issue(person.account, amr=["pwd"], env=None, remember_me=None)
    state = person.act(person.start(), n.ACTION_SESSION_DELETE, {"session_id": other.session_id})
    assert state.state == n.STATE_PROFILE_INIT
    assert emitted("session") == ["session.delete.explicit.revoke"]
    assert data_of("session.delete.explicit.revoke")[0]["id"] == other.session_id


def test_account_delete_emits_user_delete_with_the_user_before_deletion(person, settings):
    merged(settings, ACCOUNT={"ALLOW_DELETION": True})
    account_id = str(person.account.pk)
    address = person.account.emails.get().address
    state = person.act(person.start(), n.ACTION_ACCOUNT_DELETE)
    assert state.state == n.STATE_ACCOUNT_DELETED
    assert not Account.objects.filter(pk=account_id).exists()
    assert emitted("user") == ["user.delete"]
    [user] = data_of("user.delete")
    assert user["id"] == account_id and user["emails"][0]["address"] == address
    assert "ip_address" not in user  # Hanko's admin-style payload


# --- sessions ---------------------------------------------------------------------------------


def test_logout_emits_explicit_logout(signed_in_client):
    client: Client = signed_in_client()
    WebhookDelivery.objects.all().delete()
    assert client.post("/logout").status_code == 204
    assert emitted() == ["session.delete.explicit.logout"]


def test_idle_timeout_emits_passive_expire(account_factory, settings):
    merged(settings, SESSION={"IDLE_TIMEOUT": 600})
    issued = sessions.issue(account_factory(), amr=["pwd"], env=None, remember_me=None)
    Session.objects.filter(pk=issued.session_id).update(
        last_used=timezone.now() - timedelta(seconds=601)
    )
    assert sessions.validate(issued.token, touch=False) is None
    assert emitted() == ["session.delete.passive.expire"]


def test_the_session_limit_emits_passive_limit(account_factory, settings):
    merged(settings, SESSION={"LIMIT": 1})
    account = account_factory()
    first = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    assert emitted() == ["session.delete.passive.limit"]
    assert data_of("session.delete.passive.limit")[0]["id"] == first.session_id


def test_a_password_recovery_ending_other_sessions_has_no_event(account_factory):
    account = account_factory()
    sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    sessions.revoke_all(account, reason="credential_reset")
    assert emitted() == []


# --- sources, matching and transactions -------------------------------------------------------


def test_settings_hooks_need_webhooks_enabled(settings, account_factory):
    merged(settings, WEBHOOKS={"ENABLED": False})
    account = account_factory()
    webhooks.user_changed(events.USER_LOGIN, account)
    assert emitted() == []
    Webhook.objects.create(
        callback="https://hooks.example.com/", events=["user.login"],
        expires_at=sources.renewed_expiry(),
    )  # fmt: skip
    webhooks.user_changed(events.USER_LOGIN, account)
    webhooks.user_changed(events.USER_DELETE, account)
    assert emitted() == ["user.login"]  # database hooks do not need it


def test_one_delivery_per_hook_however_many_subscriptions_match(account_factory, settings):
    merged(settings, WEBHOOKS={"ENABLED": False})
    hook = Webhook.objects.create(
        callback="https://hooks.example.com/", events=["user", "user.update", "user.update.email"],
        expires_at=sources.renewed_expiry(),
    )  # fmt: skip
    Webhook.objects.create(
        callback="https://off.example.com/", events=["user"], enabled=False,
        expires_at=sources.renewed_expiry(),
    )  # fmt: skip
    webhooks.user_changed(events.USER_EMAIL_CREATE, account_factory())
    [row] = WebhookDelivery.objects.all()
    assert row.webhook == hook and row.callback == hook.callback


def test_expired_hooks_are_disabled_only_with_time_expiration(account_factory, settings):
    merged(settings, WEBHOOKS={"ENABLED": False})
    hook = Webhook.objects.create(
        callback="https://hooks.example.com/", events=["user"],
        expires_at=timezone.now() - timedelta(seconds=1),
    )  # fmt: skip
    account = account_factory()
    webhooks.user_changed(events.USER_LOGIN, account)
    assert emitted() == ["user.login"]
    merged(settings, WEBHOOKS={"ALLOW_TIME_EXPIRATION": True})
    webhooks.user_changed(events.USER_LOGIN, account)
    assert emitted() == ["user.login"]
    hook.refresh_from_db()
    assert not hook.enabled


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_leaves_no_delivery(account_factory):
    account = account_factory()
    with pytest.raises(RuntimeError), transaction.atomic():
        webhooks.user_changed(events.USER_LOGIN, account)
        assert emitted() == ["user.login"]
        raise RuntimeError
    assert emitted() == []


def test_the_admin_test_email_emits_nothing(account_factory):
    mail.queue(kinds.TEST, to=EMAIL, language="en", context={})
    assert emitted() == []


def test_email_send_of_a_notice_without_code(account_factory):
    mail.queue(kinds.EMAIL_LOGIN_ATTEMPTED, to=EMAIL, language="de-DE", context={})
    [sent] = data_of("email.send")
    assert sent["type"] == "email_login_attempted"
    assert sent["data"] == {"service_name": "Hanko Authentication Service"}
    assert sent["language"] == sent["accept_language"] == "de-DE"


def test_a_security_notification_has_an_empty_accept_language(account_factory):
    account = account_factory(EMAIL)
    notifications.notify(account, kinds.PASSKEY_CREATE, env=None)
    [sent] = data_of("email.send")
    assert sent["accept_language"] == ""
    assert sent["data"] == {
        "template": "passkey_create",
        "service_name": sent["data"]["service_name"],
    }


def test_user_payload_is_read_afresh(account_factory):
    account = account_factory(EMAIL)
    list(account.emails.all())  # cached on the instance
    accounts.add_email(account, "second@example.com", verified=False)
    webhooks.user_changed(events.USER_EMAIL_CREATE, account)
    [user] = data_of("user.update.email.create")
    assert {e["address"] for e in user["emails"]} == {EMAIL, "second@example.com"}


# --- third-party sign-in ----------------------------------------------------------------------


def _provider():
    from hankoflow.services.thirdparty.providers import Provider

    return Provider(
        id="google", display_name="Google", client_id="c", secret="s", allow_linking=True
    )


def test_third_party_sign_up_emits_user_create_without_request_facts(db):
    from hankoflow.services.thirdparty import linking
    from hankoflow.services.thirdparty.backends import ProviderUser

    person = ProviderUser(subject="g-1", email="tp@example.com", email_verified=True)
    linked = linking.resolve(_provider(), person, env=None)
    assert linked.user_created
    assert emitted("user") == ["user.create"]
    [user] = data_of("user.create")
    assert user["id"] == str(linked.account.pk) and "ip_address" not in user


def test_third_party_sign_in_with_a_new_address_emits_email_create(db):
    from hankoflow.services.thirdparty import linking
    from hankoflow.services.thirdparty.backends import ProviderUser

    first = ProviderUser(subject="g-2", email="old@example.com", email_verified=True)
    linking.resolve(_provider(), first, env=None)
    WebhookDelivery.objects.all().delete()
    moved = ProviderUser(subject="g-2", email="moved@example.com", email_verified=True)
    linking.resolve(_provider(), moved, env=None)
    assert emitted("user") == ["user.update.email.create"]


def test_login_onboarding_username_emits_username_create(flow_client, account_factory, settings):
    merged(settings, USERNAME={"ENABLED": True, "ACQUIRE_ON_LOGIN": True, "OPTIONAL": False})
    account_factory(EMAIL, password=PASSWORD)
    state = flow_client.start("login")
    state = flow_client.act(state, "register_client_capabilities", NO_WEBAUTHN)
    state = flow_client.act(state, "continue_with_login_identifier", {"identifier": EMAIL})
    if state.state == "login_method_chooser":
        state = flow_client.act(state, "continue_to_password_login")
    state = flow_client.act(state, "password_login", {"password": PASSWORD})
    assert state.state == "onboarding_username", state.body
    done = flow_client.act(state, "username_create", {"username": "jane_doe"})
    assert done.state == "success", done.body
    assert emitted("user") == ["user.update.username.create", "user.login"]
    assert data_of("user.update.username.create")[0]["username"]["username"] == "jane_doe"
