"""The profile flow's email actions: email_create (with its passcode), email_delete,
email_set_primary, email_verify (flow-api.md §4.3.2 #3-#6, "Deletable emails";
client-contract.md §4.1)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from hankoflow import emails as kinds
from hankoflow import errors
from hankoflow import names as n
from hankoflow.actions.profile import emails as email_actions
from hankoflow.models import AuditLogEntry, Email, OutboxEmail
from hankoflow.services import accounts, audit, notifications, passcodes
from hankoflow.testing.client import FlowClient, FlowResponse

NEW = "new@example.com"
PASSWORD = "correct horse battery"


@pytest.fixture
def notified(monkeypatch) -> list[dict[str, Any]]:
    """The security notifications the step asked for (the real ``notify`` still runs)."""
    calls: list[dict[str, Any]] = []
    real = notifications.notify

    def recording(account, kind, *, env, to=None, context=None):
        calls.append({"kind": kind, "to": to, "context": context})
        return real(account, kind, env=env, to=to, context=context)

    monkeypatch.setattr(notifications, "notify", recording)
    return calls


def configure(settings, sections: dict[str, dict[str, Any]]) -> None:
    """Change some HANKOFLOW settings for one test, keeping the rest (e.g. the RP origins)."""
    merged = dict(settings.HANKOFLOW)
    for name, values in sections.items():
        merged[name] = {**merged.get(name, {}), **values}
    settings.HANKOFLOW = merged


def addresses(account) -> dict[str, tuple[bool, bool]]:
    """address -> (is_primary, is_verified), from the database."""
    rows = Email.objects.filter(account=account)
    return {row.address: (row.is_primary, row.is_verified) for row in rows}


def email_id(account, address: str) -> str:
    return str(Email.objects.get(account=account, address=address).pk)


def queued(kind: str) -> list[tuple[str, dict[str, Any]]]:
    """The outbox rows of one email kind: (to, context without the service's name)."""
    rows = OutboxEmail.objects.filter(kind=kind)
    return [(row.to, {k: v for k, v in row.context.items() if k != "service_name"}) for row in rows]


def audited(account, kind: str) -> list[AuditLogEntry]:
    return list(AuditLogEntry.objects.filter(actor_user_id=account.pk, type=kind))


def deletable_ids(state) -> list[str]:
    item = state.body["actions"][n.ACTION_EMAIL_DELETE]["inputs"]["email_id"]
    return [allowed["value"] for allowed in item.get("allowed_values", [])]


def act_anyway(person, state, action: str, input_data: dict[str, Any]) -> FlowResponse:
    """Post ``action`` on the flow although ``state`` does not offer it."""
    href = state.href(n.ACTION_EMAIL_DELETE).replace(n.ACTION_EMAIL_DELETE, action)
    body = {**state.body, "actions": {**state.body["actions"], action: {"href": href}}}
    return person.act(FlowResponse(state.status, body, state.headers, {}), action, input_data)


def primary_of(account) -> str:
    return Email.objects.get(account=account, is_primary=True).address


# --- what profile_init offers ------------------------------------------------------------------


def test_email_delete_is_always_offered_with_its_input_even_when_nothing_is_deletable(
    profile_session,
):
    person = profile_session()
    state = person.start()
    actions = state.body["actions"]
    assert actions[n.ACTION_EMAIL_DELETE]["inputs"]["email_id"]["hidden"] is True
    assert deletable_ids(state) == []  # the only address is the primary, emails required
    assert actions[n.ACTION_EMAIL_CREATE]["inputs"]["email"]["max_length"] == 120
    assert n.ACTION_EMAIL_SET_PRIMARY not in actions  # one address, already primary
    assert n.ACTION_EMAIL_VERIFY not in actions  # nothing unverified


def test_set_primary_and_verify_are_offered_for_a_second_unverified_address(profile_session):
    person = profile_session()
    accounts.add_email(person.account, NEW, verified=False)
    state = person.start()
    actions = state.body["actions"]
    assert actions[n.ACTION_EMAIL_SET_PRIMARY]["inputs"]["email_id"]["required"] is True
    assert actions[n.ACTION_EMAIL_VERIFY]["inputs"]["email_id"]["hidden"] is True
    assert deletable_ids(state) == [email_id(person.account, NEW)]


# --- email_create with a passcode --------------------------------------------------------------


def test_email_create_adds_the_address_verified_after_its_passcode(
    profile_session, passcode_outbox, notified
):
    person = profile_session()
    primary = primary_of(person.account)
    state = person.act(person.start(), n.ACTION_EMAIL_CREATE, {"email": "  New@Example.com "})
    assert state.state == n.STATE_PASSCODE_CONFIRMATION
    assert addresses(person.account) == {primary: (True, True)}  # nothing before the code
    assert notified == []

    state = person.act(state, n.ACTION_VERIFY_PASSCODE, {"code": passcode_outbox(NEW)})
    assert state.state == n.STATE_PROFILE_INIT, state.body
    listed = {e["address"]: e for e in state.body["payload"]["user"]["emails"]}
    assert listed[NEW]["is_verified"] is True and listed[NEW]["is_primary"] is False
    assert addresses(person.account) == {primary: (True, True), NEW: (False, True)}
    assert len(audited(person.account, audit.EMAIL_CREATED)) == 1
    assert len(audited(person.account, audit.EMAIL_VERIFIED)) == 1
    assert notified == [{"kind": kinds.EMAIL_CREATE, "to": primary, "context": {"new_email": NEW}}]
    assert queued(kinds.EMAIL_CREATE) == [(primary, {"new_email": NEW})]
    assert deletable_ids(state) == [email_id(person.account, NEW)]


def test_a_wrong_passcode_or_back_adds_nothing(profile_session):
    person = profile_session()
    state = person.act(person.start(), n.ACTION_EMAIL_CREATE, {"email": NEW})
    wrong = person.act(state, n.ACTION_VERIFY_PASSCODE, {"code": "000000x"})
    assert wrong.status == 400
    assert wrong.input_error(n.ACTION_VERIFY_PASSCODE, "code") == "passcode_invalid"
    back = person.act(wrong, "back")
    assert back.state == n.STATE_PROFILE_INIT
    assert NEW not in addresses(person.account)


def test_the_address_of_the_user_itself_already_exists(profile_session):
    person = profile_session()
    own = primary_of(person.account)
    state = person.act(person.start(), n.ACTION_EMAIL_CREATE, {"email": own})
    assert state.status == 400
    assert state.input_error(n.ACTION_EMAIL_CREATE, "email") == "email_already_exists"


def test_an_invalid_address_is_an_input_error(profile_session):
    person = profile_session()
    state = person.act(person.start(), n.ACTION_EMAIL_CREATE, {"email": "not an address"})
    assert state.status == 400
    assert state.input_error(n.ACTION_EMAIL_CREATE, "email") == "value_invalid_error"


def test_another_accounts_address_walks_through_a_passcode_page_that_leads_nowhere(
    profile_session, account_factory, mailoutbox, passcode_outbox, monkeypatch
):
    """Privacy: the person cannot tell the address is taken; its owner gets a notice."""
    account_factory("taken@example.com")
    person = profile_session()
    state = person.act(person.start(), n.ACTION_EMAIL_CREATE, {"email": "taken@example.com"})
    assert state.state == n.STATE_PASSCODE_CONFIRMATION
    assert passcode_outbox("taken@example.com") is None  # a notice, no code
    wrong = person.act(state, n.ACTION_VERIFY_PASSCODE, {"code": "123456"})
    assert wrong.input_error(n.ACTION_VERIFY_PASSCODE, "code") == "passcode_invalid"

    # Even a correct guess of the code nobody received adds nothing.
    monkeypatch.setattr(passcodes, "verify", lambda *a, **k: passcodes.VerifyResult(ok=True))
    lucky = person.act(wrong, n.ACTION_VERIFY_PASSCODE, {"code": "654321"})
    assert lucky.status == 403
    assert lucky.error_code == "operation_not_permitted_error"
    assert "taken@example.com" not in addresses(person.account)


def test_with_existence_hints_another_accounts_address_already_exists(
    profile_session, account_factory, settings
):
    configure(settings, {"PRIVACY": {"SHOW_ACCOUNT_EXISTENCE_HINTS": True}})
    account_factory("taken@example.com")
    person = profile_session()
    state = person.act(person.start(), n.ACTION_EMAIL_CREATE, {"email": "taken@example.com"})
    assert state.input_error(n.ACTION_EMAIL_CREATE, "email") == "email_already_exists"


def test_a_resend_after_an_earlier_verification_does_not_add_the_new_address(
    profile_session, passcode_outbox
):
    """The flag an earlier verification left in the stash must not verify the next address."""
    person = profile_session()
    state = person.act(person.start(), n.ACTION_EMAIL_CREATE, {"email": NEW})
    state = person.act(state, n.ACTION_VERIFY_PASSCODE, {"code": passcode_outbox(NEW)})
    state = person.act(state, n.ACTION_EMAIL_CREATE, {"email": "second@example.com"})
    resent = person.act(state, n.ACTION_RESEND_PASSCODE)
    assert resent.state == n.STATE_PASSCODE_CONFIRMATION
    assert "second@example.com" not in addresses(person.account)


def test_the_limit_is_checked_again_when_the_passcode_arrives(
    profile_session, passcode_outbox, settings
):
    configure(settings, {"EMAIL": {"LIMIT": 2}})
    person = profile_session()
    state = person.act(person.start(), n.ACTION_EMAIL_CREATE, {"email": NEW})
    accounts.add_email(person.account, "meanwhile@example.com", verified=True)
    state = person.act(state, n.ACTION_VERIFY_PASSCODE, {"code": passcode_outbox(NEW)})
    assert state.status == 403
    assert NEW not in addresses(person.account)


def test_email_create_is_not_offered_at_the_limit(profile_session, settings):
    configure(settings, {"EMAIL": {"LIMIT": 2}})
    person = profile_session()
    accounts.add_email(person.account, NEW, verified=True)
    state = person.start()
    assert n.ACTION_EMAIL_CREATE not in state.body["actions"]
    refused = act_anyway(person, state, n.ACTION_EMAIL_CREATE, {"email": "third@example.com"})
    assert refused.status == 403
    assert "third@example.com" not in addresses(person.account)


# --- email_create without verification ---------------------------------------------------------


def test_without_verification_the_address_is_added_at_once_unverified(
    profile_session, notified, settings
):
    configure(settings, {"EMAIL": {"REQUIRE_VERIFICATION": False}})
    person = profile_session()
    primary = primary_of(person.account)
    state = person.act(person.start(), n.ACTION_EMAIL_CREATE, {"email": NEW})
    assert state.state == n.STATE_PROFILE_INIT, state.body
    assert addresses(person.account)[NEW] == (False, False)
    assert len(audited(person.account, audit.EMAIL_CREATED)) == 1
    assert notified == [{"kind": kinds.EMAIL_CREATE, "to": primary, "context": {"new_email": NEW}}]
    assert n.ACTION_EMAIL_VERIFY in state.body["actions"]


def test_without_verification_an_address_added_meanwhile_in_another_tab_is_not_added_again(
    profile_session, notified, settings, monkeypatch
):
    configure(settings, {"EMAIL": {"REQUIRE_VERIFICATION": False}})
    person = profile_session()
    state = person.start()
    accounts.add_email(person.account, NEW, verified=False)
    # The lookup ran before the other tab committed; the locked account has it.
    monkeypatch.setattr(accounts, "find_by_email", lambda address: None)
    state = person.act(state, n.ACTION_EMAIL_CREATE, {"email": NEW})
    assert state.input_error(n.ACTION_EMAIL_CREATE, "email") == "email_already_exists"
    assert audited(person.account, audit.EMAIL_CREATED) == []
    assert notified == []


def test_without_verification_another_accounts_address_already_exists(
    profile_session, account_factory, settings
):
    configure(settings, {"EMAIL": {"REQUIRE_VERIFICATION": False}})
    account_factory("taken@example.com")
    person = profile_session()
    state = person.act(person.start(), n.ACTION_EMAIL_CREATE, {"email": "taken@example.com"})
    assert state.input_error(n.ACTION_EMAIL_CREATE, "email") == "email_already_exists"


def test_without_verification_the_first_address_becomes_primary_and_the_users_email(
    profile_session, account_factory, notified, settings
):
    configure(
        settings,
        {
            "EMAIL": {"REQUIRE_VERIFICATION": False, "OPTIONAL": True},
            "USERNAME": {"ENABLED": True},
        },
    )
    account = account_factory(None, username="jane", password=PASSWORD)
    person = profile_session(account=account)
    state = person.act(person.start(), n.ACTION_EMAIL_CREATE, {"email": NEW})
    assert state.state == n.STATE_PROFILE_INIT
    assert addresses(account) == {NEW: (True, False)}
    account.user.refresh_from_db()
    assert account.user.email == NEW
    assert notified == []  # nobody to tell: there was no address before


# --- email_delete ------------------------------------------------------------------------------


def test_deleting_a_second_address(profile_session, notified):
    person = profile_session()
    primary = primary_of(person.account)
    accounts.add_email(person.account, NEW, verified=True)
    state = person.start()
    state = person.act(state, n.ACTION_EMAIL_DELETE, {"email_id": email_id(person.account, NEW)})
    assert state.state == n.STATE_PROFILE_INIT, state.body
    assert addresses(person.account) == {primary: (True, True)}
    assert [e["address"] for e in state.body["payload"]["user"]["emails"]] == [primary]
    assert deletable_ids(state) == []
    assert len(audited(person.account, audit.EMAIL_DELETED)) == 1
    assert notified == [
        {"kind": kinds.EMAIL_DELETE, "to": primary, "context": {"deleted_email": NEW}}
    ]
    assert queued(kinds.EMAIL_DELETE) == [(primary, {"deleted_email": NEW})]


@pytest.mark.parametrize("which", ["foreign", "unknown", "malformed", "missing"])
def test_an_id_that_is_not_one_of_the_users_addresses_is_form_data_invalid(
    profile_session, account_factory, which
):
    person = profile_session()
    accounts.add_email(person.account, NEW, verified=True)
    other = account_factory("other@example.com")
    value = {
        "foreign": email_id(other, "other@example.com"),
        "unknown": str(uuid.uuid4()),
        "malformed": "not-a-uuid",
        "missing": "",
    }[which]
    state = person.act(person.start(), n.ACTION_EMAIL_DELETE, {"email_id": value})
    assert state.status == 400
    assert state.error_code == "form_data_invalid_error"
    assert Email.objects.filter(address="other@example.com").exists()
    assert NEW in addresses(person.account)


def test_with_nothing_deletable_any_id_passes_the_input_but_not_the_rules(
    profile_session, account_factory
):
    """No allowed values: the input lets anything through (as Hanko's); the action does not."""
    person = profile_session()
    other = account_factory("other@example.com")
    state = person.start()
    assert deletable_ids(state) == []
    foreign = person.act(
        state, n.ACTION_EMAIL_DELETE, {"email_id": email_id(other, "other@example.com")}
    )
    assert foreign.status == 400 and foreign.error_code == "form_data_invalid_error"
    assert Email.objects.filter(address="other@example.com").exists()


def test_the_primary_address_cannot_be_deleted_when_emails_are_required(profile_session):
    person = profile_session()
    primary = primary_of(person.account)
    state = person.act(
        person.start(), n.ACTION_EMAIL_DELETE, {"email_id": email_id(person.account, primary)}
    )
    assert state.status == 403
    assert state.error_code == "operation_not_permitted_error"
    assert primary in addresses(person.account)


def test_the_primary_address_is_not_among_the_deletable_ones_next_to_another(profile_session):
    person = profile_session()
    primary = primary_of(person.account)
    accounts.add_email(person.account, NEW, verified=True)
    state = person.start()
    assert email_id(person.account, primary) not in deletable_ids(state)
    refused = person.act(
        state, n.ACTION_EMAIL_DELETE, {"email_id": email_id(person.account, primary)}
    )
    assert refused.status == 400
    assert refused.input_error(n.ACTION_EMAIL_DELETE, "email_id") == "value_invalid_error"
    assert primary in addresses(person.account)


def test_the_last_address_goes_when_optional_and_a_passkey_remains(
    profile_session, account_factory, soft_authenticator, notified, settings
):
    configure(settings, {"EMAIL": {"OPTIONAL": True}})
    account = account_factory(passkey=soft_authenticator)
    primary = primary_of(account)
    person = profile_session(account=account)
    state = person.start()
    assert deletable_ids(state) == [email_id(account, primary)]
    state = person.act(state, n.ACTION_EMAIL_DELETE, {"email_id": email_id(account, primary)})
    assert state.state == n.STATE_PROFILE_INIT, state.body
    assert addresses(account) == {}
    # Hanko sends the notice to the address being removed, the only one there was.
    assert notified == [
        {"kind": kinds.EMAIL_DELETE, "to": primary, "context": {"deleted_email": primary}}
    ]


def test_the_last_address_goes_when_optional_and_a_password_with_a_username_remains(
    profile_session, account_factory, settings
):
    configure(settings, {"EMAIL": {"OPTIONAL": True}, "USERNAME": {"ENABLED": True}})
    account = account_factory(username="jane", password=PASSWORD)
    person = profile_session(account=account)
    state = person.start()
    assert deletable_ids(state) == [email_id(account, primary_of(account))]


def test_the_last_address_stays_when_only_a_password_would_remain(profile_session, settings):
    """A password without a username needs the address to sign in with."""
    configure(settings, {"EMAIL": {"OPTIONAL": True}})
    person = profile_session()
    primary = primary_of(person.account)
    state = person.start()
    assert deletable_ids(state) == []
    refused = person.act(
        state, n.ACTION_EMAIL_DELETE, {"email_id": email_id(person.account, primary)}
    )
    assert refused.status == 403
    assert primary in addresses(person.account)


def test_without_a_primary_the_last_address_stays(profile_session, account_factory):
    """Hanko: would let both go (each is "not primary"); the account would have no way in."""
    account = account_factory(NEW)  # passcode login only: no password, no passkey
    accounts.add_email(account, "second@example.com", verified=True)
    Email.objects.filter(account=account).update(is_primary=False)
    person = profile_session(account=account)
    state = person.start()
    assert len(deletable_ids(state)) == 2
    state = person.act(state, n.ACTION_EMAIL_DELETE, {"email_id": email_id(account, NEW)})
    assert state.state == n.STATE_PROFILE_INIT
    assert deletable_ids(state) == []
    refused = person.act(
        state, n.ACTION_EMAIL_DELETE, {"email_id": email_id(account, "second@example.com")}
    )
    assert refused.status == 403
    assert addresses(account) == {"second@example.com": (False, True)}


def test_deleting_an_address_deleted_meanwhile_is_refused(profile_session):
    person = profile_session()
    accounts.add_email(person.account, NEW, verified=True)
    state = person.start()
    stale = email_id(person.account, NEW)
    Email.objects.filter(pk=stale).delete()  # e.g. from another tab
    refused = person.act(state, n.ACTION_EMAIL_DELETE, {"email_id": stale})
    assert refused.status == 400
    assert refused.error_code == "form_data_invalid_error"


# --- email_set_primary -------------------------------------------------------------------------


def test_set_primary_moves_the_marker_and_the_users_email(profile_session, notified):
    person = profile_session()
    old = primary_of(person.account)
    accounts.add_email(person.account, NEW, verified=True)
    state = person.act(
        person.start(), n.ACTION_EMAIL_SET_PRIMARY, {"email_id": email_id(person.account, NEW)}
    )
    assert state.state == n.STATE_PROFILE_INIT, state.body
    assert addresses(person.account) == {old: (False, True), NEW: (True, True)}
    person.account.user.refresh_from_db()
    assert person.account.user.email == NEW
    entries = audited(person.account, audit.PRIMARY_EMAIL_CHANGED)
    assert len(entries) == 1
    assert notified == [
        {
            "kind": kinds.PRIMARY_EMAIL_UPDATE,
            "to": old,
            "context": {"old_email": old, "new_email": NEW},
        }
    ]
    assert queued(kinds.PRIMARY_EMAIL_UPDATE) == [(old, {"old_email": old, "new_email": NEW})]
    # The old primary is deletable now, the new one is not.
    assert deletable_ids(state) == [email_id(person.account, old)]


def test_set_primary_on_the_primary_just_continues(profile_session, notified):
    person = profile_session()
    primary = primary_of(person.account)
    accounts.add_email(person.account, NEW, verified=True)
    state = person.act(
        person.start(),
        n.ACTION_EMAIL_SET_PRIMARY,
        {"email_id": email_id(person.account, primary)},
    )
    assert state.state == n.STATE_PROFILE_INIT and state.status == 200
    assert primary_of(person.account) == primary
    assert audited(person.account, audit.PRIMARY_EMAIL_CHANGED) == []
    assert notified == []


@pytest.mark.parametrize("which", ["foreign", "unknown", "malformed"])
def test_set_primary_of_an_address_not_the_users_is_not_found(
    profile_session, account_factory, which
):
    person = profile_session()
    accounts.add_email(person.account, NEW, verified=True)
    other = account_factory("other@example.com")
    value = {
        "foreign": email_id(other, "other@example.com"),
        "unknown": str(uuid.uuid4()),
        "malformed": "1; drop table",
    }[which]
    state = person.act(person.start(), n.ACTION_EMAIL_SET_PRIMARY, {"email_id": value})
    assert state.status == 404
    assert state.error_code == "not_found"
    assert Email.objects.get(address="other@example.com").is_primary is True
    assert addresses(person.account)[NEW] == (False, True)


def test_set_primary_of_an_address_deleted_meanwhile_is_not_found(profile_session):
    person = profile_session()
    accounts.add_email(person.account, NEW, verified=True)
    accounts.add_email(person.account, "third@example.com", verified=True)  # still offered
    state = person.start()
    stale = email_id(person.account, NEW)
    Email.objects.filter(pk=stale).delete()
    assert person.act(state, n.ACTION_EMAIL_SET_PRIMARY, {"email_id": stale}).status == 404


def test_an_unverified_address_cannot_become_primary_when_verification_is_required(
    profile_session, notified
):
    person = profile_session()
    primary = primary_of(person.account)
    accounts.add_email(person.account, NEW, verified=False)
    state = person.act(
        person.start(), n.ACTION_EMAIL_SET_PRIMARY, {"email_id": email_id(person.account, NEW)}
    )
    assert state.status == 403
    assert state.error_code == "operation_not_permitted_error"
    assert primary_of(person.account) == primary
    assert notified == []


def test_an_unverified_address_can_become_primary_without_required_verification(
    profile_session, settings
):
    configure(settings, {"EMAIL": {"REQUIRE_VERIFICATION": False}})
    person = profile_session()
    accounts.add_email(person.account, NEW, verified=False)
    state = person.act(
        person.start(), n.ACTION_EMAIL_SET_PRIMARY, {"email_id": email_id(person.account, NEW)}
    )
    assert state.state == n.STATE_PROFILE_INIT
    assert primary_of(person.account) == NEW


# --- email_verify ------------------------------------------------------------------------------


def test_email_verify_marks_the_address_verified_after_its_passcode(
    profile_session, passcode_outbox, notified
):
    person = profile_session()
    accounts.add_email(person.account, NEW, verified=False)
    state = person.act(
        person.start(), n.ACTION_EMAIL_VERIFY, {"email_id": email_id(person.account, NEW)}
    )
    assert state.state == n.STATE_PASSCODE_CONFIRMATION
    state = person.act(state, n.ACTION_VERIFY_PASSCODE, {"code": passcode_outbox(NEW)})
    assert state.state == n.STATE_PROFILE_INIT, state.body
    assert addresses(person.account)[NEW] == (False, True)
    assert len(audited(person.account, audit.EMAIL_VERIFIED)) == 1
    assert audited(person.account, audit.EMAIL_CREATED) == []
    assert notified == []  # nothing new was added
    assert n.ACTION_EMAIL_VERIFY not in state.body["actions"]


@pytest.mark.parametrize("which", ["foreign", "unknown", "malformed"])
def test_email_verify_of_an_address_not_the_users_is_not_found(
    profile_session, account_factory, mailoutbox, which
):
    person = profile_session()
    accounts.add_email(person.account, NEW, verified=False)
    other = account_factory("other@example.com", verified=False)
    value = {
        "foreign": email_id(other, "other@example.com"),
        "unknown": str(uuid.uuid4()),
        "malformed": "x",
    }[which]
    state = person.act(person.start(), n.ACTION_EMAIL_VERIFY, {"email_id": value})
    assert state.status == 404
    assert mailoutbox == []


# --- re-authentication -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action", [n.ACTION_EMAIL_CREATE, n.ACTION_EMAIL_DELETE, n.ACTION_EMAIL_SET_PRIMARY]
)
def test_the_sensitive_email_actions_ask_for_reauthentication_before_any_change(
    profile_session, monkeypatch, action
):
    asked: list[str] = []

    def required(ctx):
        asked.append(ctx.flow_id)
        return ctx.error(errors.OPERATION_NOT_PERMITTED)

    monkeypatch.setattr(email_actions, "reauthentication_required", required)
    person = profile_session()
    accounts.add_email(person.account, NEW, verified=True)
    before = addresses(person.account)
    inputs = (
        {"email": "third@example.com"}
        if action == n.ACTION_EMAIL_CREATE
        else {"email_id": email_id(person.account, NEW)}
    )
    state = person.act(person.start(), action, inputs)
    assert asked and state.status == 403
    assert addresses(person.account) == before


def test_an_old_session_proves_itself_before_deleting_an_address(profile_session, clock):
    clock.stop()
    person = profile_session()
    # The password state is the login flow's: Hanko's profile document does not describe it.
    person.flows = FlowClient(person.client, validate=False)
    accounts.add_email(person.account, NEW, verified=True)
    clock.advance(seconds=601)  # past PROFILE.REAUTHENTICATION_MAX_AGE's default
    target = {"email_id": email_id(person.account, NEW)}
    asked = person.act(person.start(), n.ACTION_EMAIL_DELETE, target)
    assert asked.state == n.STATE_LOGIN_PASSWORD
    assert NEW in addresses(person.account)
    done = person.act(asked, n.ACTION_PASSWORD_LOGIN, {"password": PASSWORD})
    assert done.state == n.STATE_PROFILE_INIT
    assert person.act(done, n.ACTION_EMAIL_DELETE, target).state == n.STATE_PROFILE_INIT
    assert NEW not in addresses(person.account)


# --- the whole story -----------------------------------------------------------------------------


def test_add_a_second_address_make_it_primary_and_delete_the_first(
    profile_session, passcode_outbox
):
    """What hanko-elements' profile does (and its e2e test): one flow, four steps."""
    person = profile_session()
    first = primary_of(person.account)
    state = person.act(person.start(), n.ACTION_EMAIL_CREATE, {"email": NEW})
    state = person.act(state, n.ACTION_VERIFY_PASSCODE, {"code": passcode_outbox(NEW)})
    new_id = email_id(person.account, NEW)
    state = person.act(state, n.ACTION_EMAIL_SET_PRIMARY, {"email_id": new_id})
    assert deletable_ids(state) == [email_id(person.account, first)]
    state = person.act(state, n.ACTION_EMAIL_DELETE, {"email_id": email_id(person.account, first)})
    assert state.state == n.STATE_PROFILE_INIT, state.body
    assert state.body["payload"]["user"]["emails"] == [
        {"id": new_id, "address": NEW, "is_verified": True, "is_primary": True}
    ]
    person.account.user.refresh_from_db()
    assert person.account.user.email == NEW


def test_a_wrong_code_for_a_new_address_is_audited_as_email_verification(profile_session):
    person = profile_session()
    state = person.start()
    asked = person.act(state, n.ACTION_EMAIL_CREATE, {"email": "second@example.com"})
    assert asked.state == n.STATE_PASSCODE_CONFIRMATION
    person.act(asked, n.ACTION_VERIFY_PASSCODE, {"code": "not-it"})
    entry = AuditLogEntry.objects.filter(type=audit.LOGIN_FAILURE).latest("created_at")
    assert entry.details["context"] == "email_verification"
