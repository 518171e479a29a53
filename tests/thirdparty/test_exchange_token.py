"""``exchange_token`` in the login, registration and token_exchange flows (flow-api.md
§4.0.2.10, §4.4), with tokens made directly: the provider's part is in test_oidc_dance.py."""

import pytest

from hankoflow.models import Identity
from hankoflow.services.thirdparty import tokens

VERIFIER = "c" * 43
NO_WEBAUTHN = {"webauthn_available": False, "webauthn_conditional_mediation_available": False}
THIRD_PARTY = {
    "ALLOWED_REDIRECT_URLS": ["https://app.example.com/**"],
    "ERROR_REDIRECT_URL": "https://app.example.com/error",
    "PROVIDERS": {"github": {"ENABLED": True, "CLIENT_ID": "id", "SECRET": "secret"}},
}

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def github(settings):
    settings.HANKOFLOW = {"THIRD_PARTY": THIRD_PARTY}


def configure(settings, **sections):
    settings.HANKOFLOW = {"THIRD_PARTY": THIRD_PARTY, **sections}


def at_thirdparty(flow_client, flow="login"):
    state = flow_client.act(flow_client.start(flow), "register_client_capabilities", NO_WEBAUTHN)
    return flow_client.act(
        state,
        "thirdparty_oauth",
        {
            "provider": "github",
            "redirect_to": "https://app.example.com/x",
            "code_verifier": VERIFIER,
        },
    )


def token_for(account, *, email=None, verified=True, created=False, verifier=VERIFIER):
    identity = Identity.objects.create(
        account=account,
        provider_id="github",
        subject=f"gh-{account.pk}",
        email=email or "",
        email_verified=verified,
    )
    return tokens.issue(account, identity, user_created=created, code_verifier=verifier)


def test_login_exchange_signs_in(flow_client, account_factory):
    account = account_factory("gh@example.com", verified=True)
    state = at_thirdparty(flow_client)
    success = flow_client.act(
        state, "exchange_token", {"token": token_for(account), "code_verifier": VERIFIER}
    )
    assert success.state == "success"
    assert success.body["payload"]["claims"]["subject"] == str(account.pk)
    assert success.body["payload"]["claims"]["amr"] == ["ext:github"]


def test_unknown_token_is_a_client_error_not_a_500(flow_client):
    state = at_thirdparty(flow_client)
    answer = flow_client.act(state, "exchange_token", {"token": "nope", "code_verifier": VERIFIER})
    # Hanko: 500 technical_error.
    assert answer.status == 400 and answer.error_code == "form_data_invalid_error"
    assert answer.state == state.state  # the client may try again


def test_a_token_made_without_pkce_is_refused_to_a_client_using_pkce(flow_client, account_factory):
    # Login CSRF: a token for the attacker's account, minted without PKCE, handed to a victim
    # whose page started with a verifier.
    from hankoflow.models import ExchangeToken

    attacker = account_factory("mallory@example.com")
    token = tokens.issue(attacker, None, user_created=False, code_verifier="")
    state = at_thirdparty(flow_client)
    answer = flow_client.act(state, "exchange_token", {"token": token, "code_verifier": VERIFIER})
    assert answer.status == 400 and answer.error_code == "form_data_invalid_error"
    assert ExchangeToken.objects.count() == 1  # kept: the mismatch does not spend it


def test_exchange_is_rate_limited_per_ip(flow_client, settings):
    configure(settings, RATE_LIMITER={"TOKEN_LIMITS": {"TOKENS": 1, "INTERVAL": 60}})
    state = at_thirdparty(flow_client)
    first = flow_client.act(state, "exchange_token", {"token": "a" * 44})
    assert first.error_code == "form_data_invalid_error"
    state = at_thirdparty(flow_client)
    limited = flow_client.act(state, "exchange_token", {"token": "a" * 44})
    assert limited.status == 429 and limited.error_code == "rate_limit_exceeded"
    assert limited.body["payload"]["retry_after"] > 0


def test_back_from_thirdparty_returns_to_login_init(flow_client):
    state = at_thirdparty(flow_client)
    assert flow_client.act(state, "back").state == "login_init"


def test_unverified_identity_email_is_verified_by_passcode(
    flow_client, account_factory, passcode_outbox
):
    account = account_factory("unv@example.com", verified=False)
    state = at_thirdparty(flow_client)
    confirm = flow_client.act(
        state,
        "exchange_token",
        {
            "token": token_for(account, email="unv@example.com", verified=False),
            "code_verifier": VERIFIER,
        },
    )
    assert confirm.state == "passcode_confirmation", confirm.body
    done = flow_client.act(confirm, "verify_passcode", {"code": passcode_outbox("unv@example.com")})
    assert done.state == "success", done.body
    assert account.emails.get().is_verified


def test_registration_asks_for_a_username_when_configured(flow_client, account_factory, settings):
    configure(settings, USERNAME={"ENABLED": True, "ACQUIRE_ON_REGISTRATION": True})
    account = account_factory("new@example.com", verified=True)
    state = at_thirdparty(flow_client, "registration")
    onboarding = flow_client.act(
        state,
        "exchange_token",
        {"token": token_for(account, created=True), "code_verifier": VERIFIER},
    )
    assert onboarding.state == "onboarding_username"
    done = flow_client.act(onboarding, "username_create", {"username": "newbie"})
    assert done.state == "success", done.body
    assert done.body["payload"]["claims"]["amr"] == ["ext:github"]


def test_token_exchange_flow(flow_client, account_factory):
    account = account_factory("tx@example.com", verified=True)
    started = flow_client.start("token_exchange")
    assert started.state == "thirdparty" and "back" not in started.body["actions"]
    success = flow_client.act(
        started, "exchange_token", {"token": token_for(account), "code_verifier": VERIFIER}
    )
    assert success.state == "success"
    assert success.body["payload"]["last_login"] == {
        "login_method": "third_party",
        "third_party_provider": "github",
    }


def test_registration_verifies_an_unverified_address_by_passcode(
    flow_client, account_factory, passcode_outbox
):
    account = account_factory("reg@example.com", verified=False)
    state = at_thirdparty(flow_client, "registration")
    token = token_for(account, email="reg@example.com", verified=False, created=True)
    confirm = flow_client.act(state, "exchange_token", {"token": token, "code_verifier": VERIFIER})
    assert confirm.state == "passcode_confirmation", confirm.body
    code = passcode_outbox("reg@example.com")
    after = flow_client.act(confirm, "verify_passcode", {"code": code})
    assert account.emails.get().is_verified  # stored at once: the account exists already
    if after.state == "mfa_method_chooser":  # as after any verified passcode (Hanko too)
        after = flow_client.act(after, "skip")
    assert after.state == "success", after.body
    assert after.body["payload"]["claims"]["amr"] == ["otp", "ext:github"]
