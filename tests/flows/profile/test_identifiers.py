"""Profile actions on the password, the username and the metadata (flow-api.md §4.3.2 #8-#11,
#14-#16; security-checks PW-07)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.test import override_settings

from hankoflow import emails, signals
from hankoflow import names as n
from hankoflow.actions.profile import identifiers
from hankoflow.models import AuditLogEntry, Session, WebauthnCredential
from hankoflow.services import accounts, metadata, notifications, sessions
from hankoflow.testing.client import FlowClient

PASSWORD = "correct horse battery"  # the profile_session fixture's
NEW_PASSWORD = "a brand new passphrase"
SPEC = Path(os.environ.get("HANKOFLOW_SHARED_DIR", Path(__file__).parents[4] / "shared")) / "spec"
CATALOGUE = json.loads((SPEC / "flow-states.json").read_text())["profile"]["profile_init"]

USERNAMES = {"USERNAME": {"ENABLED": True}}
OPTIONAL_PASSWORD = {"PASSWORD": {"OPTIONAL": True}}


def actions(state) -> set[str]:
    return set(state.body["actions"])


def fresh(account):
    return accounts.get(account.id)


def audit_types(account) -> list[str]:
    return list(
        AuditLogEntry.objects.filter(actor_user_id=account.id)
        .order_by("created_at", "id")
        .values_list("type", flat=True)
    )


def password_login(email: str, password: str) -> str:
    """Sign in through the login flow in a new browser; the state it ends in."""
    flows = FlowClient()
    state = flows.act(
        flows.start(n.FLOW_LOGIN),
        n.ACTION_REGISTER_CLIENT_CAPABILITIES,
        {"webauthn_available": False},
    )
    state = flows.act(state, "continue_with_login_identifier", {"email": email})
    state = flows.act(state, "continue_to_password_login")
    return flows.act(state, "password_login", {"password": password}).state


def act_anyway(person, state, action: str, input_data: dict | None = None):
    """Post ``action`` on the flow of ``state`` even when the state does not offer it."""
    path = state.href(n.ACTION_PATCH_METADATA).replace(n.ACTION_PATCH_METADATA, action, 1)
    body = {"input_data": input_data or {}, "csrf_token": state.csrf_token}
    return person.flows.post_raw(path, json.dumps(body).encode())


@pytest.fixture
def reauthentication(monkeypatch) -> list[str]:
    """Makes every sensitive action ask for re-authentication (and stay in profile_init);
    lists the actions that asked."""
    asked: list[str] = []

    def ask(ctx):
        asked.append(ctx.stash.state)
        return ctx.continue_to(n.STATE_PROFILE_INIT)

    monkeypatch.setattr(identifiers, "reauthentication_required", ask)
    return asked


@pytest.fixture
def notified(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []

    def record(account, kind, *, env, to=None, context=None):
        calls.append((account.id, kind, to, context))

    monkeypatch.setattr(notifications, "notify", record)
    return calls


@pytest.fixture
def sent():
    """``(signal name, kwargs)`` of the credential and session signals sent during the test."""
    received: list[tuple[str, dict]] = []
    watched = {
        "credential_added": signals.credential_added,
        "credential_removed": signals.credential_removed,
        "session_revoked": signals.session_revoked,
    }
    receivers = []
    for name, signal in watched.items():

        def receiver(sender, signal=None, _name=name, **kwargs):
            received.append((_name, kwargs))

        signal.connect(receiver, weak=False)
        receivers.append((signal, receiver))
    yield received
    for signal, receiver in receivers:
        signal.disconnect(receiver)


# --- declarations -------------------------------------------------------------------------------


@override_settings(HANKOFLOW=USERNAMES)
def test_inputs_are_hankos(profile_session, account_factory) -> None:
    with_password = profile_session().start()
    without = profile_session(account_factory(username="pat")).start()
    rendered = {
        **with_password.body["actions"],
        **{k: v for k, v in without.body["actions"].items() if k in ("password_create",)},
        "username_update": without.body["actions"]["username_update"],
        "username_create": with_password.body["actions"]["username_create"],
    }
    for action in (
        "password_create",
        "password_update",
        "username_create",
        "username_update",
        "patch_metadata",
    ):
        for name, spec in CATALOGUE["actions"][action]["inputs"].items():
            item = rendered[action]["inputs"][name]
            assert (item["type"], item["required"]) == (spec["type"], spec["required"]), action
            assert item.get("min_length") == spec["min_length"], action
            assert item.get("max_length") == spec["max_length"], action
    assert rendered["password_update"]["inputs"]["password"] == {
        "name": "password",
        "type": "string",
        "min_length": 8,
        "max_length": 72,
        "required": True,
    }
    assert rendered["username_create"]["inputs"]["username"]["value"] is None  # preserve
    assert rendered["patch_metadata"]["inputs"]["patch_metadata"]["hidden"] is False
    assert rendered["patch_metadata"]["description"] == "Patch the (unsafe) metadata of the user"


def test_with_a_password_only_update_is_offered(profile_session) -> None:
    state = profile_session().start()
    assert {"password_update", "patch_metadata"} <= actions(state)
    assert not {"password_create", "password_delete"} & actions(state)
    # Usernames are off by default.
    assert not {"username_create", "username_update", "username_delete"} & actions(state)


# --- password_update ----------------------------------------------------------------------------


def test_password_update_signs_in_with_the_new_password_only(
    profile_session, notified, sent
) -> None:
    person = profile_session()
    email = person.account.emails.get().address
    state = person.act(person.start(), "password_update", {"password": NEW_PASSWORD})

    assert state.status == 200 and state.state == n.STATE_PROFILE_INIT
    assert password_login(email, NEW_PASSWORD) == n.STATE_SUCCESS
    assert password_login(email, PASSWORD) == n.STATE_LOGIN_PASSWORD
    assert notified == [(person.account.id, emails.PASSWORD_UPDATE, None, None)]
    assert "password_changed" in audit_types(person.account)
    entry = AuditLogEntry.objects.get(type="password_changed", actor_user_id=person.account.id)
    assert entry.details["context"] == "profile"
    assert not [name for name, _ in sent if name.startswith("credential_")]  # a replacement


def test_password_update_ends_the_other_sessions_and_keeps_this_one(
    profile_session, notified, sent
) -> None:
    person = profile_session()
    [current] = Session.objects.filter(account=person.account)
    other = sessions.issue(person.account, amr=["otp"], env=None, remember_me=None)

    state = person.act(person.start(), "password_update", {"password": NEW_PASSWORD})

    assert state.state == n.STATE_PROFILE_INIT
    assert list(Session.objects.filter(account=person.account)) == [current]
    assert sessions.validate(other.token) is None
    assert [s["current"] for s in state.body["payload"]["sessions"]] == [True]
    assert person.start().state == n.STATE_PROFILE_INIT  # this browser is still signed in
    [(name, revoked)] = [(k, v) for k, v in sent if k == "session_revoked"]
    assert str(revoked["session"].pk) == other.session_id
    assert revoked["reason"] == signals.REASON_CREDENTIAL_RESET
    logged_out = AuditLogEntry.objects.get(type="user_logged_out", actor_user_id=person.account.id)
    assert logged_out.details["session_ids"] == [other.session_id]
    assert logged_out.details["reason"] == "credential_reset"


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short", "value_too_short_error"),  # the input's min_length (bytes)
        ("x" * 73, "value_too_long_error"),
        ("é" * 36 + "x", "value_too_long_error"),  # 37 characters, 73 bytes
        ("éééé", "value_invalid_error"),  # 8 bytes but 4 characters, as at sign-up
        ("12345678", "value_invalid_error"),  # Django's validators: common, numeric
        ("", "value_missing_error"),
    ],
)
def test_password_update_refuses_what_sign_up_refuses(
    profile_session, notified, password, code
) -> None:
    person = profile_session()
    state = person.act(person.start(), "password_update", {"password": password})

    assert state.status == 400 and state.state == n.STATE_PROFILE_INIT
    assert state.error_code == "form_data_invalid_error"
    assert state.input_error("password_update", "password") == code
    assert fresh(person.account).user.check_password(PASSWORD)
    assert notified == []


def test_a_validator_failure_names_the_reason(profile_session) -> None:
    person = profile_session()
    state = person.act(person.start(), "password_update", {"password": "12345678"})
    error = state.body["actions"]["password_update"]["inputs"]["password"]["error"]
    assert "too common" in error["cause"]


def test_password_update_asks_for_reauthentication_first(
    profile_session, reauthentication, notified
) -> None:
    person = profile_session()
    other = sessions.issue(person.account, amr=["otp"], env=None, remember_me=None)
    person.act(person.start(), "password_update", {"password": NEW_PASSWORD})
    assert reauthentication == [n.STATE_PROFILE_INIT]
    assert fresh(person.account).user.check_password(PASSWORD)
    assert sessions.validate(other.token) is not None
    assert notified == []


def test_invalid_input_is_refused_before_reauthentication(
    profile_session, reauthentication
) -> None:
    person = profile_session()
    state = person.act(person.start(), "password_update", {"password": "short"})
    assert state.status == 400 and reauthentication == []


# --- password_create ----------------------------------------------------------------------------


def test_password_create_for_an_account_without_one(profile_session, account_factory, sent) -> None:
    account = account_factory("nopass@example.com")
    person = profile_session(account)
    state = person.start()
    assert "password_create" in actions(state) and "password_update" not in actions(state)

    state = person.act(state, "password_create", {"password": NEW_PASSWORD})

    assert state.state == n.STATE_PROFILE_INIT
    assert "password_update" in actions(state) and "password_create" not in actions(state)
    assert password_login("nopass@example.com", NEW_PASSWORD) == n.STATE_SUCCESS
    entry = AuditLogEntry.objects.get(type="password_changed", actor_user_id=account.id)
    assert entry.details["context"] == "profile"
    [(name, added)] = [(k, v) for k, v in sent if k == "credential_added"]
    assert added["kind"] == signals.CREDENTIAL_PASSWORD


def test_password_create_refuses_a_short_password(profile_session, account_factory) -> None:
    person = profile_session(account_factory())
    state = person.act(person.start(), "password_create", {"password": "éééé"})
    assert state.input_error("password_create", "password") == "value_invalid_error"
    assert not accounts.has_password(fresh(person.account).user)


def test_password_create_asks_for_reauthentication(
    profile_session, account_factory, reauthentication
) -> None:
    person = profile_session(account_factory())
    person.act(person.start(), "password_create", {"password": NEW_PASSWORD})
    assert reauthentication == [n.STATE_PROFILE_INIT]
    assert not accounts.has_password(fresh(person.account).user)


# --- password_delete ----------------------------------------------------------------------------


def test_password_delete_is_not_offered_while_passwords_are_required(profile_session) -> None:
    person = profile_session()
    state = person.start()
    assert "password_delete" not in actions(state)
    answer = act_anyway(person, state, "password_delete")
    assert answer.status == 403 and answer.error_code == "operation_not_permitted_error"
    assert accounts.has_password(fresh(person.account).user)


@override_settings(HANKOFLOW=OPTIONAL_PASSWORD)
def test_password_delete_leaves_the_passcode_login(profile_session, sent) -> None:
    person = profile_session()
    other = sessions.issue(person.account, amr=["pwd"], env=None, remember_me=None)
    state = person.start()
    assert "password_delete" in actions(state)

    state = person.act(state, "password_delete")

    assert state.state == n.STATE_PROFILE_INIT
    assert "password_create" in actions(state) and "password_delete" not in actions(state)
    assert not accounts.has_password(fresh(person.account).user)
    assert sessions.validate(other.token) is None
    assert Session.objects.filter(account=person.account).count() == 1
    assert {"password_deleted", "user_logged_out"} <= set(audit_types(person.account))
    [(name, removed)] = [(k, v) for k, v in sent if k == "credential_removed"]
    assert removed["kind"] == signals.CREDENTIAL_PASSWORD


@override_settings(
    HANKOFLOW={"PASSWORD": {"OPTIONAL": True}, "EMAIL": {"USE_FOR_AUTHENTICATION": False}}
)
def test_password_delete_is_not_offered_when_it_is_the_last_way_in(
    profile_session, account_factory
) -> None:
    person = profile_session()
    state = person.start()
    assert "password_delete" not in actions(state)
    assert act_anyway(person, state, "password_delete").status == 403

    # A security key is a second factor only: still the last way in (Hanko counts it).
    WebauthnCredential.objects.create(
        id="c2VjdXJpdHkta2V5",
        account=person.account,
        public_key="x",
        attestation_type="none",
        mfa_only=True,
    )
    assert "password_delete" not in actions(person.start())

    WebauthnCredential.objects.create(
        id="cGFzc2tleS0x",
        account=person.account,
        public_key="x",
        attestation_type="none",
        mfa_only=False,
    )
    assert "password_delete" in actions(person.start())


@override_settings(HANKOFLOW=OPTIONAL_PASSWORD)
def test_password_delete_asks_for_reauthentication(profile_session, reauthentication) -> None:
    person = profile_session()
    person.act(person.start(), "password_delete")
    assert reauthentication == [n.STATE_PROFILE_INIT]
    assert accounts.has_password(fresh(person.account).user)


# --- usernames ----------------------------------------------------------------------------------


@override_settings(HANKOFLOW=USERNAMES)
def test_username_create_normalises_and_preserves(profile_session) -> None:
    person = profile_session()
    state = person.start()
    assert "username_create" in actions(state) and "username_update" not in actions(state)

    state = person.act(state, "username_create", {"username": "  Jane_Doe "})

    assert state.state == n.STATE_PROFILE_INIT
    assert state.body["payload"]["user"]["username"]["username"] == "jane_doe"
    assert "username_update" in actions(state) and "username_create" not in actions(state)
    entry = AuditLogEntry.objects.get(type="username_changed", actor_user_id=person.account.id)
    assert entry.details["flow_id"]


@override_settings(HANKOFLOW=USERNAMES)
@pytest.mark.parametrize(
    ("username", "code"),
    [
        ("jane-doe", "invalid_username_error"),
        ("jäne", "invalid_username_error"),
        ("jo", "value_too_short_error"),
        ("j" * 33, "value_too_long_error"),
        ("Taken", "username_already_exists"),
    ],
)
def test_username_create_refusals(profile_session, account_factory, username, code) -> None:
    account_factory(username="taken")
    person = profile_session()
    state = person.act(person.start(), "username_create", {"username": username})

    assert state.status == 400 and state.state == n.STATE_PROFILE_INIT
    assert state.input_error("username_create", "username") == code
    assert accounts.username_of(fresh(person.account)) is None


@override_settings(HANKOFLOW=USERNAMES)
def test_username_update(profile_session, account_factory) -> None:
    account_factory(username="taken")
    person = profile_session(account_factory(username="before"))
    state = person.start()
    assert "username_update" in actions(state) and "username_create" not in actions(state)

    taken = person.act(state, "username_update", {"username": "taken"})
    assert taken.input_error("username_update", "username") == "username_already_exists"
    assert taken.body["actions"]["username_update"]["inputs"]["username"]["value"] == "taken"

    state = person.act(taken, "username_update", {"username": "After"})
    assert state.state == n.STATE_PROFILE_INIT
    assert accounts.username_of(fresh(person.account)).username == "after"


@override_settings(HANKOFLOW=USERNAMES)
def test_username_update_to_the_current_username_changes_nothing(
    profile_session, account_factory
) -> None:
    person = profile_session(account_factory(username="same"))
    state = person.act(person.start(), "username_update", {"username": "SAME"})
    assert state.status == 200 and state.state == n.STATE_PROFILE_INIT
    assert "username_changed" not in audit_types(person.account)


@override_settings(HANKOFLOW=USERNAMES)
def test_username_delete(profile_session, account_factory) -> None:
    person = profile_session(account_factory(username="gone", password=PASSWORD))
    state = person.start()
    assert "username_delete" in actions(state)

    state = person.act(state, "username_delete")

    assert state.state == n.STATE_PROFILE_INIT
    assert "username" not in state.body["payload"]["user"]
    assert "username_create" in actions(state) and "username_delete" not in actions(state)
    entry = AuditLogEntry.objects.get(type="username_deleted", actor_user_id=person.account.id)
    assert entry.details["username"] != "gone"  # masked in the audit log
    assert accounts.username_of(fresh(person.account)) is None


@override_settings(HANKOFLOW=USERNAMES)
def test_username_delete_is_not_offered_without_an_email_or_passkey(
    profile_session, account_factory
) -> None:
    person = profile_session(account_factory(None, username="only", password=PASSWORD))
    state = person.start()
    assert "username_delete" not in actions(state)
    assert act_anyway(person, state, "username_delete").status == 403
    assert accounts.username_of(fresh(person.account)) is not None


@override_settings(
    HANKOFLOW={
        "USERNAME": {"ENABLED": True},
        "EMAIL": {"USE_AS_LOGIN_IDENTIFIER": False, "USE_FOR_AUTHENTICATION": False},
    }
)
def test_username_delete_is_not_offered_when_the_password_needs_it(
    profile_session, account_factory
) -> None:
    # Hanko offers it (the account has an email), which would leave a password with no
    # identifier to type before it.
    person = profile_session(account_factory(username="needed", password=PASSWORD))
    assert "username_delete" not in actions(person.start())


@override_settings(HANKOFLOW={"USERNAME": {"ENABLED": True, "OPTIONAL": False}})
def test_username_delete_is_not_offered_while_usernames_are_required(
    profile_session, account_factory
) -> None:
    person = profile_session(account_factory(username="required"))
    assert "username_delete" not in actions(person.start())


# --- patch_metadata -----------------------------------------------------------------------------


def patch(person, state, value):
    return person.act(state, "patch_metadata", {"patch_metadata": value})


def test_patch_metadata_merges_and_shows_in_the_profile_and_me(profile_session) -> None:
    person = profile_session()
    state = person.start()
    assert "metadata" not in state.body["payload"]["user"]

    state = patch(person, state, {"theme": "dark", "layout": {"sidebar": True, "width": 3}})
    state = patch(person, state, {"layout": {"width": None}, "lang": "de"})

    assert state.status == 200
    expected = {"theme": "dark", "layout": {"sidebar": True}, "lang": "de"}
    assert state.body["payload"]["user"]["metadata"] == {"unsafe_metadata": expected}
    me = person.client.get("/me").json()
    assert me["metadata"] == {"unsafe_metadata": expected}


def test_patch_metadata_null_value_removes_a_key_and_null_clears_all(profile_session) -> None:
    person = profile_session()
    state = patch(person, person.start(), {"a": 1, "b": 2})
    state = patch(person, state, {"a": None})
    assert state.body["payload"]["user"]["metadata"] == {"unsafe_metadata": {"b": 2}}

    state = patch(person, state, None)
    assert state.status == 200
    assert "metadata" not in state.body["payload"]["user"]
    assert fresh(person.account).unsafe_metadata is None
    assert "metadata" not in person.client.get("/me").json()


def test_patch_metadata_leaves_public_metadata_alone(profile_session) -> None:
    person = profile_session()
    metadata.patch(person.account, metadata.PUBLIC, {"role": "editor"})
    metadata.patch(person.account, metadata.PRIVATE, {"internal": 1})
    state = patch(person, person.start(), None)
    assert state.body["payload"]["user"]["metadata"] == {"public_metadata": {"role": "editor"}}
    assert metadata.read(fresh(person.account), metadata.PRIVATE) == {"internal": 1}


@pytest.mark.parametrize("value", [[1, 2], 5, "text", True, "[]"])
def test_patch_metadata_refuses_what_is_no_object(profile_session, value) -> None:
    person = profile_session()
    state = patch(person, person.start(), value)

    assert state.status == 400 and state.error_code == "form_data_invalid_error"
    error = state.body["actions"]["patch_metadata"]["inputs"]["patch_metadata"]["error"]
    assert error == {
        "code": "invalid_metadata_error",
        "message": "The metadata is invalid.",
        "cause": "patch metadata must be an object or null",
    }


def test_patch_metadata_without_the_input_is_refused(profile_session) -> None:
    person = profile_session()
    state = person.act(person.start(), "patch_metadata", {})
    assert state.input_error("patch_metadata", "patch_metadata") == "invalid_metadata_error"


def test_patch_metadata_over_the_limit_changes_nothing(profile_session) -> None:
    person = profile_session()
    state = patch(person, person.start(), {"keep": "me"})
    state = patch(person, state, {"big": "x" * 3000})

    assert state.status == 400
    error = state.body["actions"]["patch_metadata"]["inputs"]["patch_metadata"]["error"]
    assert error["cause"] == "metadata must not exceed character limit (3000)"
    assert metadata.read(fresh(person.account), metadata.UNSAFE) == {"keep": "me"}
