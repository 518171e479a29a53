"""Passkeys and security keys in the profile (flow-api.md §4.3.2 #12, #13, #17, #18, #20,
§4.3.3), with real ceremonies from the software authenticator."""

from __future__ import annotations

import pyotp
import pytest

from hankoflow import emails
from hankoflow import names as n
from hankoflow.actions.profile import webauthn as profile_webauthn
from hankoflow.models import AuditLogEntry, WebauthnCredential
from hankoflow.services import notifications
from hankoflow.testing.client import FlowClient
from hankoflow.testing.webauthn import SoftAuthenticator, from_b64url

CREATE = n.ACTION_WEBAUTHN_CREDENTIAL_CREATE
VERIFY = n.ACTION_WEBAUTHN_VERIFY_ATTESTATION_RESPONSE
RENAME = n.ACTION_WEBAUTHN_CREDENTIAL_RENAME
DELETE = n.ACTION_WEBAUTHN_CREDENTIAL_DELETE
KEY_CREATE = n.ACTION_SECURITY_KEY_CREATE
KEY_DELETE = n.ACTION_SECURITY_KEY_DELETE


@pytest.fixture
def notified(monkeypatch):
    """The security notifications queued: (account id, kind) pairs."""
    sent = []

    def notify(account, kind, *, env, to=None, context=None):
        sent.append((account.pk, kind))

    monkeypatch.setattr(notifications, "notify", notify)
    return sent


@pytest.fixture
def configure(settings):
    """``configure(PASSKEY={"LIMIT": 1})``: Hanko settings on top of the suite's."""

    def apply(**sections):
        settings.HANKOFLOW = {**settings.HANKOFLOW, **sections}

    return apply


def register(person, state, device, action=CREATE, **tamper):
    """Run ``action`` and answer its creation options with ``device``."""
    state = person.act(state, action)
    assert state.state == n.STATE_WEBAUTHN_CREDENTIAL_VERIFICATION, state.body
    options = state.body["payload"]["creation_options"]
    return person.act(state, VERIFY, {"public_key": device.create(options, **tamper)})


def passkey_only(account_factory, device, count=1):
    """An account with no email, no password, only ``count`` passkeys of ``device``."""
    account = account_factory(email=None, username="pat", passkey=device)
    for _ in range(count - 1):
        add_credential(account, device)
    return account


def add_credential(account, device, *, mfa_only=False):
    from hankoflow.services import webauthn

    options = webauthn.registration_options(
        user_id=str(account.id),
        user_name="pat",
        user_display_name="pat",
        mfa_only=mfa_only,
        exclude_credential_ids=[],
        flow_id=None,
    )
    new = webauthn.verify_registration(
        options.challenge_id, device.create(options.options), flow_id=None
    )
    return webauthn.save_credential(account, new)


def login_with_passkey(device):
    login = FlowClient()
    state = login.start(n.FLOW_LOGIN)
    state = login.act(state, n.ACTION_REGISTER_CLIENT_CAPABILITIES, {"webauthn_available": True})
    state = login.act(state, n.ACTION_WEBAUTHN_GENERATE_REQUEST_OPTIONS)
    options = state.body["payload"]["request_options"]
    return login.act(
        state,
        n.ACTION_WEBAUTHN_VERIFY_ASSERTION_RESPONSE,
        {"assertion_response": device.get(options)},
    )


# --- creating ----------------------------------------------------------------------------------


def test_passkey_created_in_the_profile_is_listed_and_signs_in(
    profile_session, soft_authenticator, notified
):
    person = profile_session()
    state = person.start()
    assert "passkeys" not in state.body["payload"]["user"]
    created = person.act(state, CREATE)
    public_key = created.body["payload"]["creation_options"]["publicKey"]
    assert public_key["authenticatorSelection"]["residentKey"] == "required"
    assert "excludeCredentials" not in public_key
    assert set(created.body["actions"]) == {VERIFY, "back"}

    state = person.act(
        created,
        VERIFY,
        {"public_key": soft_authenticator.create(created.body["payload"]["creation_options"])},
    )

    assert state.state == n.STATE_PROFILE_INIT and state.status == 200
    [passkey] = state.body["payload"]["user"]["passkeys"]
    assert passkey["mfa_only"] is False
    assert WebauthnCredential.objects.get(pk=passkey["id"]).account_id == person.account.pk
    assert notified == [(person.account.pk, emails.PASSKEY_CREATE)]
    entry = AuditLogEntry.objects.get(type="passkey_created")
    assert entry.details["passkey"] == passkey["id"]
    done = login_with_passkey(soft_authenticator)
    assert done.state == "success"
    assert done.body["payload"]["user"]["id"] == str(person.account.pk)


def test_security_key_created_in_the_profile(profile_session, notified):
    key = SoftAuthenticator(
        "http://localhost:8000", transports=("usb",), attachment="cross-platform"
    )
    person = profile_session()
    state = person.start()
    created = person.act(state, KEY_CREATE)
    selection = created.body["payload"]["creation_options"]["publicKey"]["authenticatorSelection"]
    assert selection["residentKey"] == "discouraged"

    state = person.act(
        created, VERIFY, {"public_key": key.create(created.body["payload"]["creation_options"])}
    )

    assert state.state == n.STATE_PROFILE_INIT and state.status == 200
    user = state.body["payload"]["user"]
    assert "passkeys" not in user
    assert [k["mfa_only"] for k in user["security_keys"]] == [True]
    assert notified == [(person.account.pk, emails.MFA_CREATE)]
    assert AuditLogEntry.objects.filter(type="security_key_created").count() == 1


def test_a_security_key_does_not_sign_in_alone(profile_session, soft_authenticator):
    person = profile_session()
    state = register(person, person.start(), soft_authenticator, KEY_CREATE)
    assert state.status == 200
    refused = login_with_passkey(soft_authenticator)
    assert refused.state != "success"


def test_back_from_verification_returns_to_the_profile(profile_session):
    person = profile_session()
    created = person.act(person.start(), CREATE)
    state = person.act(created, "back")
    assert state.state == n.STATE_PROFILE_INIT and "user" in state.body["payload"]
    assert not WebauthnCredential.objects.exists()


@pytest.mark.parametrize(
    "tamper",
    [{"origin": "http://evil.example"}, {"rp_id": "evil.example"}, {"user_present": False}],
)
def test_a_bad_attestation_returns_to_the_profile_with_passkey_invalid(
    profile_session, soft_authenticator, notified, tamper
):
    person = profile_session()
    state = register(person, person.start(), soft_authenticator, **tamper)
    assert state.state == n.STATE_PROFILE_INIT
    assert state.status == 401 and state.error_code == "passkey_invalid"
    assert "passkeys" not in state.body["payload"]["user"]
    assert not WebauthnCredential.objects.exists() and notified == []


@pytest.mark.parametrize("garbage", ["not json", {"id": "%%%"}, [], None, 5])
def test_garbage_attestation_is_passkey_invalid_not_a_crash(profile_session, garbage):
    person = profile_session()
    created = person.act(person.start(), CREATE)
    state = person.act(created, VERIFY, {"public_key": garbage})
    assert state.status == 401 and state.error_code == "passkey_invalid"


def test_excluded_credential_is_refused_when_registered_again(
    profile_session, soft_authenticator, notified
):
    person = profile_session()
    state = register(person, person.start(), soft_authenticator)
    [existing] = state.body["payload"]["user"]["passkeys"]
    created = person.act(state, CREATE)
    options = created.body["payload"]["creation_options"]
    assert [c["id"] for c in options["publicKey"]["excludeCredentials"]] == [existing["id"]]

    again = person.act(
        created,
        VERIFY,
        {
            "public_key": soft_authenticator.create(
                options, credential_id=from_b64url(existing["id"])
            )
        },
    )

    assert again.status == 401 and again.error_code == "passkey_invalid"
    assert WebauthnCredential.objects.count() == 1
    assert notified == [(person.account.pk, emails.PASSKEY_CREATE)]


def test_passkey_limit_counts_security_keys_too(
    profile_session, account_factory, soft_authenticator, configure
):
    configure(PASSKEY={"LIMIT": 2})
    account = account_factory(password="correct horse battery", passkey=soft_authenticator)
    person = profile_session(account)
    assert CREATE in person.start().body["actions"]
    add_credential(account, soft_authenticator, mfa_only=True)
    actions = person.start().body["actions"]
    assert CREATE not in actions and KEY_CREATE in actions


def test_security_key_limit(profile_session, account_factory, soft_authenticator, configure):
    configure(MFA={"SECURITY_KEYS": {"LIMIT": 1}})
    account = account_factory(password="correct horse battery")
    person = profile_session(account)
    assert KEY_CREATE in person.start().body["actions"]
    add_credential(account, soft_authenticator, mfa_only=True)
    actions = person.start().body["actions"]
    assert KEY_CREATE not in actions and CREATE in actions


def test_creation_needs_webauthn_and_the_method_switched_on(profile_session, configure):
    person = profile_session()
    actions = person.start(webauthn=False).body["actions"]
    assert CREATE not in actions and KEY_CREATE not in actions
    configure(PASSKEY={"ENABLED": False}, MFA={"SECURITY_KEYS": {"ENABLED": False}})
    actions = person.start().body["actions"]
    assert CREATE not in actions and KEY_CREATE not in actions


def test_passkey_without_email_or_username_is_named_after_the_user_id(
    profile_session, account_factory, soft_authenticator
):
    account = account_factory(email=None, passkey=soft_authenticator)
    person = profile_session(account)
    created = person.act(person.start(), CREATE)
    user = created.body["payload"]["creation_options"]["publicKey"]["user"]
    assert user["name"] == user["displayName"] == str(account.pk)


# --- renaming ----------------------------------------------------------------------------------


def test_rename(profile_session, soft_authenticator):
    person = profile_session()
    state = register(person, person.start(), soft_authenticator)
    assert state.body["actions"][RENAME]["inputs"] == {
        "passkey_id": {"name": "passkey_id", "type": "string", "required": True, "hidden": True},
        "passkey_name": {"name": "passkey_name", "type": "string", "required": True},
    }
    [passkey] = state.body["payload"]["user"]["passkeys"]
    state = person.act(state, RENAME, {"passkey_id": passkey["id"], "passkey_name": "  Laptop 💻 "})
    assert state.state == n.STATE_PROFILE_INIT and state.status == 200
    assert state.body["payload"]["user"]["passkeys"][0]["name"] == "Laptop 💻"
    assert AuditLogEntry.objects.filter(type="webauthn_credential_updated").count() == 1


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("", "value_missing_error"),
        ("   ", "value_missing_error"),
        (5, "value_missing_error"),
        ("x" * 65, "value_too_long_error"),
        ("a\nb", "value_invalid_error"),
        ("a\x07b", "value_invalid_error"),
        ("evil\u202egnp.exe", "value_invalid_error"),
    ],
)
def test_rename_refuses_bad_names_as_an_input_error(
    profile_session, soft_authenticator, name, code
):
    person = profile_session()
    state = register(person, person.start(), soft_authenticator)
    [passkey] = state.body["payload"]["user"]["passkeys"]
    refused = person.act(state, RENAME, {"passkey_id": passkey["id"], "passkey_name": name})
    assert refused.status == 400 and refused.state == n.STATE_PROFILE_INIT
    assert refused.input_error(RENAME, "passkey_name") == code
    assert WebauthnCredential.objects.get(pk=passkey["id"]).name == ""


def test_rename_accepts_the_longest_name(profile_session, soft_authenticator):
    person = profile_session()
    state = register(person, person.start(), soft_authenticator)
    [passkey] = state.body["payload"]["user"]["passkeys"]
    state = person.act(state, RENAME, {"passkey_id": passkey["id"], "passkey_name": "é" * 64})
    assert state.status == 200


def test_rename_unknown_or_foreign_credential_is_not_found(
    profile_session, account_factory, soft_authenticator
):
    stranger = account_factory(passkey=SoftAuthenticator("http://localhost:8000"))
    foreign = WebauthnCredential.objects.get(account=stranger)
    person = profile_session()
    state = register(person, person.start(), soft_authenticator)
    for credential_id in ("unknown", foreign.pk):
        refused = person.act(state, RENAME, {"passkey_id": credential_id, "passkey_name": "Mine"})
        assert refused.status == 404 and refused.error_code == "not_found"
        state = refused
    foreign.refresh_from_db()
    assert foreign.name == ""


def test_rename_renames_security_keys_too(profile_session, soft_authenticator):
    person = profile_session()
    state = register(person, person.start(), soft_authenticator, KEY_CREATE)
    [key] = state.body["payload"]["user"]["security_keys"]
    state = person.act(state, RENAME, {"passkey_id": key["id"], "passkey_name": "YubiKey"})
    assert state.body["payload"]["user"]["security_keys"][0]["name"] == "YubiKey"


def test_rename_is_not_offered_without_credentials(profile_session):
    assert RENAME not in profile_session().start().body["actions"]


# --- deleting ----------------------------------------------------------------------------------


def test_delete_a_passkey(profile_session, soft_authenticator, notified):
    person = profile_session()
    state = register(person, person.start(), soft_authenticator)
    [passkey] = state.body["payload"]["user"]["passkeys"]
    assert state.body["actions"][DELETE]["inputs"] == {
        "passkey_id": {"name": "passkey_id", "type": "string", "required": True, "hidden": True}
    }
    state = person.act(state, DELETE, {"passkey_id": passkey["id"]})
    assert state.state == n.STATE_PROFILE_INIT and state.status == 200
    assert "passkeys" not in state.body["payload"]["user"]
    assert DELETE not in state.body["actions"]
    assert not WebauthnCredential.objects.exists()
    # As Hanko: audited, no notification for a passkey.
    assert (
        AuditLogEntry.objects.get(type="passkey_deleted").details["credential_id"] == passkey["id"]
    )
    assert notified == [(person.account.pk, emails.PASSKEY_CREATE)]


def test_last_passkey_without_another_way_in_is_not_deletable(
    profile_session, account_factory, soft_authenticator
):
    account = passkey_only(account_factory, soft_authenticator, count=2)
    person = profile_session(account)
    state = person.start()
    assert DELETE in state.body["actions"]
    first = WebauthnCredential.objects.filter(account=account).first()
    state = person.act(state, DELETE, {"passkey_id": first.pk})
    assert state.status == 200
    assert DELETE not in state.body["actions"]
    assert WebauthnCredential.objects.filter(account=account).count() == 1


def test_a_security_key_is_no_way_in(profile_session, account_factory, soft_authenticator):
    # Hanko counts the security key and would let the only passkey go.
    account = passkey_only(account_factory, soft_authenticator)
    add_credential(account, soft_authenticator, mfa_only=True)
    person = profile_session(account)
    state = person.start()
    # Offered all the same: hanko-elements shows a security key's Delete link only then.
    assert DELETE in state.body["actions"] and KEY_DELETE in state.body["actions"]
    passkey = WebauthnCredential.objects.get(account=account, mfa_only=False)
    refused = person.act(state, DELETE, {"passkey_id": passkey.pk})
    assert refused.status == 403 and refused.error_code == "operation_not_permitted_error"
    assert WebauthnCredential.objects.filter(pk=passkey.pk).exists()


def test_passkey_delete_is_offered_while_a_security_key_may_go(
    profile_session, account_factory, soft_authenticator, configure
):
    account = account_factory(password="correct horse battery")
    add_credential(account, soft_authenticator, mfa_only=True)
    assert DELETE in profile_session(account).start().body["actions"]
    configure(MFA={"OPTIONAL": False})  # the only second factor must stay
    actions = profile_session(account).start().body["actions"]
    assert DELETE not in actions and KEY_DELETE not in actions


def test_last_passkey_is_deletable_with_a_password_or_passcode(
    profile_session, account_factory, soft_authenticator, configure
):
    account = account_factory(passkey=soft_authenticator)  # email passcode, no password
    assert DELETE in profile_session(account).start().body["actions"]
    configure(EMAIL={"USE_FOR_AUTHENTICATION": False})
    assert DELETE not in profile_session(account).start().body["actions"]
    with_password = account_factory(password="correct horse battery", passkey=soft_authenticator)
    assert DELETE in profile_session(with_password).start().body["actions"]


def test_last_passkey_is_kept_when_passkeys_are_required(
    profile_session, account_factory, soft_authenticator, configure
):
    configure(PASSKEY={"OPTIONAL": False})
    account = account_factory(password="correct horse battery", passkey=soft_authenticator)
    assert DELETE not in profile_session(account).start().body["actions"]


def test_delete_unknown_foreign_or_security_key_id_is_not_found(
    profile_session, account_factory, soft_authenticator
):
    stranger = account_factory(passkey=SoftAuthenticator("http://localhost:8000"))
    foreign = WebauthnCredential.objects.get(account=stranger)
    person = profile_session()
    state = register(person, person.start(), soft_authenticator)
    key = add_credential(person.account, soft_authenticator, mfa_only=True)
    for credential_id in ("unknown", foreign.pk, key.pk):
        refused = person.act(state, DELETE, {"passkey_id": credential_id})
        assert refused.status == 404 and refused.error_code == "not_found", credential_id
        state = refused
    assert WebauthnCredential.objects.count() == 3


def test_delete_without_an_id_is_a_form_error(profile_session, soft_authenticator):
    person = profile_session()
    state = register(person, person.start(), soft_authenticator)
    refused = person.act(state, DELETE, {})
    assert (
        refused.status == 400 and refused.input_error(DELETE, "passkey_id") == "value_missing_error"
    )


def test_delete_a_security_key(profile_session, soft_authenticator, notified):
    person = profile_session()
    state = register(person, person.start(), soft_authenticator, KEY_CREATE)
    [key] = state.body["payload"]["user"]["security_keys"]
    notified.clear()
    passkey = add_credential(person.account, soft_authenticator)
    refused = person.act(state, KEY_DELETE, {"security_key_id": passkey.pk})
    assert refused.status == 404  # a passkey is not a security key
    state = person.act(refused, KEY_DELETE, {"security_key_id": key["id"]})
    assert state.status == 200 and "security_keys" not in state.body["payload"]["user"]
    assert notified == [(person.account.pk, emails.MFA_DELETE)]
    assert AuditLogEntry.objects.filter(type="webauthn_credential_deleted").count() == 1


def test_last_security_key_is_kept_under_mandatory_mfa(
    profile_session, account_factory, soft_authenticator, configure
):
    configure(MFA={"OPTIONAL": False})
    account = account_factory(password="correct horse battery")
    add_credential(account, soft_authenticator, mfa_only=True)
    assert KEY_DELETE not in profile_session(account).start().body["actions"]
    add_credential(account, soft_authenticator, mfa_only=True)
    assert KEY_DELETE in profile_session(account).start().body["actions"]
    with_app = account_factory(password="correct horse battery", totp=pyotp.random_base32())
    add_credential(with_app, soft_authenticator, mfa_only=True)
    assert KEY_DELETE in profile_session(with_app).start().body["actions"]


# --- sensitive actions ask for reauthentication ------------------------------------------------


def test_sensitive_actions_ask_for_reauthentication(
    profile_session, soft_authenticator, monkeypatch
):
    asked = []

    def check(ctx):
        asked.append(ctx.input_data and sorted(ctx.input_data) or [])
        return None

    monkeypatch.setattr(profile_webauthn, "reauthentication_required", check)
    person = profile_session()
    state = register(person, person.start(), soft_authenticator)
    state = register(person, state, soft_authenticator, KEY_CREATE)
    user = state.body["payload"]["user"]
    state = person.act(state, DELETE, {"passkey_id": user["passkeys"][0]["id"]})
    person.act(state, KEY_DELETE, {"security_key_id": user["security_keys"][0]["id"]})
    assert asked == [[], [], ["passkey_id"], ["security_key_id"]]


def test_a_refusing_reauthentication_check_stops_the_change(
    profile_session, soft_authenticator, monkeypatch
):
    from hankoflow import errors

    person = profile_session()
    state = register(person, person.start(), soft_authenticator)
    [passkey] = state.body["payload"]["user"]["passkeys"]
    monkeypatch.setattr(
        profile_webauthn, "reauthentication_required", lambda ctx: ctx.error(errors.UNAUTHORIZED)
    )
    refused = person.act(state, DELETE, {"passkey_id": passkey["id"]})
    assert refused.status == 401
    assert WebauthnCredential.objects.filter(pk=passkey["id"]).exists()
    assert person.act(refused, CREATE).status == 401


def test_an_old_session_proves_itself_before_a_passkey_goes(
    profile_session, soft_authenticator, clock
):
    person = profile_session()
    person.flows = FlowClient(person.client, validate=False)  # login_password is Hanko's login's
    state = register(person, person.start(), soft_authenticator)
    [passkey] = state.body["payload"]["user"]["passkeys"]
    clock.advance(seconds=601)  # past the default PROFILE.REAUTHENTICATION_MAX_AGE

    asked = person.act(state, DELETE, {"passkey_id": passkey["id"]})
    assert asked.state == n.STATE_LOGIN_PASSKEY  # the strongest method the person has
    assert WebauthnCredential.objects.filter(pk=passkey["id"]).exists()
    options = asked.body["payload"]["request_options"]
    state = person.act(
        asked,
        n.ACTION_WEBAUTHN_VERIFY_ASSERTION_RESPONSE,
        {"assertion_response": soft_authenticator.get(options)},
    )
    assert state.state == n.STATE_PROFILE_INIT, state.body
    state = person.act(state, DELETE, {"passkey_id": passkey["id"]})
    assert state.status == 200 and not WebauthnCredential.objects.exists()


def test_notifications_are_queued_to_the_primary_address(profile_session, soft_authenticator):
    from hankoflow.models import OutboxEmail

    person = profile_session()
    address = person.account.emails.get().address
    state = register(person, person.start(), soft_authenticator)
    state = register(person, state, soft_authenticator, KEY_CREATE)
    assert state.body["actions"][KEY_DELETE]["inputs"] == {
        "security_key_id": {
            "name": "security_key_id",
            "type": "string",
            "required": True,
            "hidden": True,
        }
    }
    [key] = state.body["payload"]["user"]["security_keys"]
    person.act(state, KEY_DELETE, {"security_key_id": key["id"]})
    sent = list(OutboxEmail.objects.order_by("created_at").values_list("kind", "to"))
    assert sent == [
        (emails.PASSKEY_CREATE, address),
        (emails.MFA_CREATE, address),
        (emails.MFA_DELETE, address),
    ]


def test_signals_announce_what_was_added_and_removed(profile_session, soft_authenticator):
    from hankoflow import signals

    heard = []

    def added(sender, account, kind, credential_id, request, **kwargs):
        heard.append(("added", kind, credential_id))

    def removed(sender, account, kind, credential_id, request, **kwargs):
        heard.append(("removed", kind, credential_id))

    signals.credential_added.connect(added, weak=False)
    signals.credential_removed.connect(removed, weak=False)
    try:
        person = profile_session()
        state = register(person, person.start(), soft_authenticator)
        state = register(person, state, soft_authenticator, KEY_CREATE)
        user = state.body["payload"]["user"]
        passkey, key = user["passkeys"][0]["id"], user["security_keys"][0]["id"]
        state = person.act(state, DELETE, {"passkey_id": passkey})
        person.act(state, KEY_DELETE, {"security_key_id": key})
    finally:
        signals.credential_added.disconnect(added)
        signals.credential_removed.disconnect(removed)
    assert heard == [
        ("added", signals.CREDENTIAL_PASSKEY, passkey),
        ("added", signals.CREDENTIAL_SECURITY_KEY, key),
        ("removed", signals.CREDENTIAL_PASSKEY, passkey),
        ("removed", signals.CREDENTIAL_SECURITY_KEY, key),
    ]


@pytest.mark.parametrize("odd", [5, True, ["x"], {"id": "x"}, None, "x" * 5000])
@pytest.mark.parametrize(
    ("action", "key"),
    [(DELETE, "passkey_id"), (KEY_DELETE, "security_key_id"), (RENAME, "passkey_id")],
)
def test_odd_ids_are_client_errors(profile_session, soft_authenticator, action, key, odd):
    person = profile_session()
    state = register(person, person.start(), soft_authenticator)
    state = register(person, state, soft_authenticator, KEY_CREATE)
    answer = person.act(state, action, {key: odd, "passkey_name": "Name"})
    assert answer.status in (400, 404) and answer.state == n.STATE_PROFILE_INIT
    assert WebauthnCredential.objects.count() == 2


def test_a_credential_registered_meanwhile_is_passkey_invalid_not_a_500(
    profile_session, soft_authenticator, notified, monkeypatch
):
    from hankoflow.services import webauthn

    def taken(account, new, **kwargs):
        raise webauthn.CredentialExists(new.id)  # a concurrent step stored the same id first

    person = profile_session()
    state = person.start()
    monkeypatch.setattr(webauthn, "save_credential", taken)
    answer = register(person, state, soft_authenticator)
    assert answer.state == n.STATE_PROFILE_INIT
    assert answer.status == 401 and answer.error_code == "passkey_invalid"
    assert not WebauthnCredential.objects.filter(account=person.account).exists()
    assert notified == []
