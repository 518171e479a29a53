"""The profile's connected accounts (flow-api.md §4.3.2 #21, #22, §4.3.3): connecting a provider
through the real OpenID Connect provider of tests/thirdparty, the profile's own ``exchange_token``,
and disconnecting, never the last way to sign in.

The tests that walk through the provider are ``slow`` (a subprocess, as tests/thirdparty's);
those with tokens made directly run in the fast suite.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from hankoflow import names as n
from hankoflow import signals
from hankoflow.models import AuditLogEntry, Identity
from hankoflow.services import login_methods
from hankoflow.services.thirdparty import tokens
from hankoflow.services.thirdparty.state import open_state
from tests.flows.profile.test_reauthentication import ReauthFlowClient
from tests.thirdparty.conftest import (  # noqa: F401 - fixtures
    APP,
    RETURN_TO,
    Dance,
    oidc_provider,
    returned,
    thirdparty,
)

VERIFIER = "v" * 43
LATER = {"seconds": 601}  # past the default re-authentication window
GITHUB = {
    "THIRD_PARTY": {
        "ALLOWED_REDIRECT_URLS": [f"{APP}/**"],
        "ERROR_REDIRECT_URL": f"{APP}/error",
        "PROVIDERS": {"github": {"ENABLED": True, "CLIENT_ID": "id", "SECRET": "secret"}},
    }
}


def connect(person, state, provider="custom_local", redirect_to=RETURN_TO):
    return person.act(
        state,
        n.ACTION_CONNECT_THIRDPARTY_OAUTH_PROVIDER,
        {"provider": provider, "redirect_to": redirect_to, "code_verifier": VERIFIER},
    )


def through_provider(person, oidc_provider, thirdparty_state, username):  # noqa: F811
    """The browser at the provider, then back at the callback: the callback's answer."""
    dance = Dance(person.flows, oidc_provider)
    dance.sign_in_at_provider(username)
    location = dance.consent(thirdparty_state.body["payload"]["redirect_url"])
    return dance.callback(location)


def exchange(person, state, token, verifier=VERIFIER):
    return person.act(state, n.ACTION_EXCHANGE_TOKEN, {"token": token, "code_verifier": verifier})


# --- through the real provider -------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_connect_links_the_identity_and_lists_it(
    profile_session,
    account_factory,
    oidc_provider,  # noqa: F811
    thirdparty,  # noqa: F811
):
    received = []

    def on_added(sender, **kwargs):
        received.append(kwargs["kind"])

    signals.credential_added.connect(on_added)
    person = profile_session(account_factory("someone@example.com", password="pw-123456789"))
    state = person.start()
    offered = state.body["actions"][n.ACTION_CONNECT_THIRDPARTY_OAUTH_PROVIDER]["inputs"]
    assert [v["value"] for v in offered["provider"]["allowed_values"]] == ["custom_local"]
    assert n.ACTION_DISCONNECT_THIRDPARTY_OAUTH_PROVIDER not in state.body["actions"]

    at_thirdparty = connect(person, state)
    assert at_thirdparty.state == n.STATE_THIRDPARTY, at_thirdparty.body
    assert set(at_thirdparty.body["actions"]) == {n.ACTION_EXCHANGE_TOKEN, "back"}
    # The provider's address (alice@) is not the account's: the state's user decides.
    answer = through_provider(person, oidc_provider, at_thirdparty, "alice")
    token = returned(answer)["hanko_token"]
    identity = Identity.objects.get(account=person.account)
    assert identity.provider_id == "custom_local" and identity.email == "alice@example.com"

    back = exchange(person, at_thirdparty, token)
    signals.credential_added.disconnect(on_added)
    assert back.status == 200 and back.state == n.STATE_PROFILE_INIT, back.body
    assert back.body["payload"]["user"]["identities"] == [
        {"id": identity.subject, "provider": "Local", "identity_id": str(identity.id)}
    ]
    assert n.ACTION_CONNECT_THIRDPARTY_OAUTH_PROVIDER not in back.body["actions"]
    assert n.ACTION_DISCONNECT_THIRDPARTY_OAUTH_PROVIDER in back.body["actions"]
    assert AuditLogEntry.objects.filter(type="thirdparty_linking_succeeded").count() == 1
    assert received == [signals.CREDENTIAL_THIRD_PARTY]
    assert not person.account.emails.filter(address="alice@example.com").exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_identity_of_another_account_is_refused_at_the_callback(
    profile_session,
    account_factory,
    flow_client,
    oidc_provider,  # noqa: F811
    thirdparty,  # noqa: F811
):
    Dance(flow_client, oidc_provider).run("bob")  # bob signs up with the provider
    person = profile_session(account_factory("other@example.com", password="pw-123456789"))
    at_thirdparty = connect(person, person.start())
    answer = through_provider(person, oidc_provider, at_thirdparty, "bob")
    assert returned(answer)["error"] == "invalid_request"
    assert "different user" in returned(answer)["error_description"]
    assert not Identity.objects.filter(account=person.account).exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_replayed_token_is_refused(
    profile_session,
    account_factory,
    oidc_provider,  # noqa: F811
    thirdparty,  # noqa: F811
):
    person = profile_session(account_factory("replay@example.com", password="pw-123456789"))
    at_thirdparty = connect(person, person.start())
    token = returned(through_provider(person, oidc_provider, at_thirdparty, "carol"))["hanko_token"]
    assert exchange(person, at_thirdparty, token).state == n.STATE_PROFILE_INIT
    # The provider is connected now: no longer offered.
    assert n.ACTION_CONNECT_THIRDPARTY_OAUTH_PROVIDER not in person.start().body["actions"]
    # The used token, sent again from a second connect's thirdparty state, is gone.
    Identity.objects.filter(account=person.account).delete()
    second = connect(person, person.start())
    replay = exchange(person, second, token)
    # Hanko: 500 technical_error; a used token is the client's mistake.
    assert replay.status == 400 and replay.error_code == "form_data_invalid_error"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_custom_provider_without_linking_is_refused(
    profile_session,
    account_factory,
    oidc_provider,  # noqa: F811
    thirdparty,  # noqa: F811
):
    thirdparty(ALLOW_LINKING=False)
    person = profile_session(account_factory("nolink@example.com", password="pw-123456789"))
    at_thirdparty = connect(person, person.start())
    answer = through_provider(person, oidc_provider, at_thirdparty, "dave")
    assert returned(answer)["error"] == "user_conflict"
    assert not Identity.objects.exists()


# --- tokens made directly ------------------------------------------------------------------------


@pytest.fixture
def github(settings):
    settings.HANKOFLOW = GITHUB


def at_thirdparty(person):
    answer = connect(person, person.start(), provider="github")
    assert answer.state == n.STATE_THIRDPARTY, answer.body
    assert urlsplit(answer.body["payload"]["redirect_url"]).netloc == "github.com"
    return answer


def token_for(account, subject="gh-1"):
    identity = Identity.objects.create(account=account, provider_id="github", subject=subject)
    return identity, tokens.issue(account, identity, user_created=False, code_verifier=VERIFIER)


@pytest.mark.django_db
def test_the_state_binds_the_session_user(github, profile_session):
    person = profile_session()
    answer = at_thirdparty(person)
    sealed = parse_qs(urlsplit(answer.body["payload"]["redirect_url"]).query)["state"][0]
    cookie = answer.cookies["hanko_thirdparty_state"].value
    assert open_state(sealed, cookie=cookie).user_id == str(person.account.id)


@pytest.mark.django_db
def test_token_of_another_user_is_forbidden(github, profile_session, account_factory):
    person = profile_session()
    _, token = token_for(account_factory("stranger@example.com"))
    answer = exchange(person, at_thirdparty(person), token)
    assert answer.status == 403 and answer.error_code == "operation_not_permitted_error"


@pytest.mark.django_db
def test_wrong_verifier_is_form_data_invalid(github, profile_session):
    person = profile_session()
    state = at_thirdparty(person)
    _, token = token_for(person.account)
    answer = exchange(person, state, token, verifier="w" * 43)
    assert answer.status == 400 and answer.error_code == "form_data_invalid_error"


@pytest.mark.django_db
def test_back_from_thirdparty_returns_to_the_profile(github, profile_session):
    person = profile_session()
    answer = person.act(at_thirdparty(person), "back")
    assert answer.state == n.STATE_PROFILE_INIT


@pytest.mark.django_db
def test_unknown_provider_is_form_data_invalid(github, profile_session):
    person = profile_session()
    answer = connect(person, person.start(), provider="google")
    assert answer.status == 400 and answer.error_code == "form_data_invalid_error"


@pytest.mark.django_db
def test_redirect_outside_the_allow_list_is_form_data_invalid(github, profile_session):
    person = profile_session()
    answer = connect(person, person.start(), provider="github", redirect_to="https://evil.test/")
    assert answer.status == 400 and answer.error_code == "form_data_invalid_error"


@pytest.mark.django_db
def test_disconnect_deletes_the_identity(github, profile_session):
    received = []

    def on_removed(sender, **kwargs):
        received.append((kwargs["kind"], kwargs["credential_id"]))

    person = profile_session()
    identity, _ = token_for(person.account)
    state = person.start()
    assert state.body["actions"][n.ACTION_DISCONNECT_THIRDPARTY_OAUTH_PROVIDER]["inputs"] == {}
    signals.credential_removed.connect(on_removed)
    try:
        answer = person.act(
            state, n.ACTION_DISCONNECT_THIRDPARTY_OAUTH_PROVIDER, {"identity_id": str(identity.id)}
        )
    finally:
        signals.credential_removed.disconnect(on_removed)
    assert answer.state == n.STATE_PROFILE_INIT, answer.body
    assert not Identity.objects.exists()
    assert "identities" not in answer.body["payload"]["user"]
    assert received == [(signals.CREDENTIAL_THIRD_PARTY, str(identity.id))]


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", 7, None])
def test_disconnect_with_a_bad_id_is_form_data_invalid(github, profile_session, value):
    person = profile_session()
    token_for(person.account)
    data = {} if value is None else {"identity_id": value}
    answer = person.act(person.start(), n.ACTION_DISCONNECT_THIRDPARTY_OAUTH_PROVIDER, data)
    assert answer.status == 400 and answer.error_code == "form_data_invalid_error"
    assert Identity.objects.count() == 1


@pytest.mark.django_db
def test_disconnect_of_a_foreign_identity_is_form_data_invalid(
    github, profile_session, account_factory
):
    person = profile_session()
    token_for(person.account)
    foreign, _ = token_for(account_factory("other@example.com"), subject="gh-2")
    answer = person.act(
        person.start(),
        n.ACTION_DISCONNECT_THIRDPARTY_OAUTH_PROVIDER,
        {"identity_id": str(foreign.id)},
    )
    assert answer.status == 400 and answer.error_code == "form_data_invalid_error"
    assert Identity.objects.count() == 2


@pytest.mark.django_db
def test_the_last_way_in_cannot_be_disconnected(settings, profile_session, account_factory):
    # Signed up with the provider: no password, no passkey; email passcodes off.
    settings.HANKOFLOW = {**GITHUB, "EMAIL": {"USE_FOR_AUTHENTICATION": False}}
    account = account_factory("only@example.com")
    person = profile_session(account)
    identity, _ = token_for(account)
    assert not login_methods.can_sign_in(account, without_identities=1)
    assert login_methods.can_sign_in(account)
    answer = person.act(
        person.start(),
        n.ACTION_DISCONNECT_THIRDPARTY_OAUTH_PROVIDER,
        {"identity_id": str(identity.id)},
    )
    assert answer.status == 403 and answer.error_code == "operation_not_permitted_error"
    assert Identity.objects.filter(pk=identity.pk).exists()


@pytest.mark.django_db
def test_an_identity_counts_as_a_way_in(settings, account_factory):
    settings.HANKOFLOW = {**GITHUB, "EMAIL": {"USE_FOR_AUTHENTICATION": False}}
    account = account_factory("way@example.com")
    assert not login_methods.can_sign_in(account)
    token_for(account)
    assert login_methods.can_sign_in(account)


@pytest.mark.django_db
def test_connect_and_disconnect_ask_for_reauthentication_first(settings, profile_session, clock):
    person = profile_session()
    identity, _ = token_for(person.account)
    on = {"ENABLED": True, "CLIENT_ID": "id", "SECRET": "secret"}
    settings.HANKOFLOW = {
        "THIRD_PARTY": {**GITHUB["THIRD_PARTY"], "PROVIDERS": {"github": on, "google": on}}
    }
    clock.advance(**LATER)
    person.flows = ReauthFlowClient(person.client)  # login_password is checked as login's
    state = person.start()
    asked = connect(person, state, provider="google")
    assert asked.state == n.STATE_LOGIN_PASSWORD, asked.body
    asked = person.act(
        person.start(),
        n.ACTION_DISCONNECT_THIRDPARTY_OAUTH_PROVIDER,
        {"identity_id": str(identity.id)},
    )
    assert asked.state == n.STATE_LOGIN_PASSWORD, asked.body
    assert Identity.objects.filter(pk=identity.pk).exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_second_connect_of_the_same_identity_is_refused_at_the_callback(
    profile_session,
    account_factory,
    oidc_provider,  # noqa: F811
    thirdparty,  # noqa: F811
):
    # Two tabs started a connect before either came back: the second finds it linked already.
    person = profile_session(account_factory("twice@example.com", password="pw-123456789"))
    first, second = connect(person, person.start()), connect(person, person.start())
    token = returned(through_provider(person, oidc_provider, first, "dave"))["hanko_token"]
    assert exchange(person, first, token).state == n.STATE_PROFILE_INIT
    answer = returned(through_provider(person, oidc_provider, second, "dave"))
    assert answer["error"] == "invalid_request"
    assert answer["error_description"] == "identity already linked to this user"
    assert Identity.objects.filter(account=person.account).count() == 1
