"""Third-party sign-in against a real OpenID Connect provider on 127.0.0.1 (platform.md §9.2,
§9.4; flow-api.md §4.0.2.4, §4.0.2.10): sign-up, sign-in, linking and every refusal."""

from __future__ import annotations

import socket

import pytest

from hankoflow.models import Account, AuditLogEntry, ExchangeToken, Identity
from tests.thirdparty.conftest import ERROR_URL, RETURN_TO, returned

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_login_init_offers_the_provider(dance):
    _, thirdparty = dance.start()
    assert thirdparty.status == 200 and thirdparty.state == "thirdparty"
    url = thirdparty.body["payload"]["redirect_url"]
    assert url.startswith(dance.provider.issuer + "/authorize/")
    assert "code_challenge=" in url and "nonce=" in url
    cookie = thirdparty.cookies["hanko_thirdparty_state"]
    assert cookie["secure"] and cookie["samesite"] == "None" and cookie["max-age"] == 300


def test_sign_up_creates_the_account_and_signs_in(dance):
    thirdparty, success = dance.run("alice")
    assert success.status == 200 and success.state == "success", success.body
    account = Account.objects.get(emails__address="alice@example.com")
    assert account.emails.get().is_verified
    identity = Identity.objects.get(account=account)
    assert identity.provider_id == "custom_local" and identity.email_verified
    assert success.body["payload"]["claims"]["amr"] == ["ext:custom_local"]
    assert success.body["payload"]["last_login"] == {
        "login_method": "third_party",
        "third_party_provider": "custom_local",
    }
    assert AuditLogEntry.objects.filter(type="thirdparty_signup_succeeded").count() == 1
    assert not ExchangeToken.objects.exists()  # used up


def test_second_sign_in_finds_the_same_account(dance, flow_client, oidc_provider):
    dance.run("bob")
    again = type(dance)(flow_client.__class__(), oidc_provider)
    _, success = again.run("bob")
    assert success.state == "success"
    assert Account.objects.filter(emails__address="bob@example.com").count() == 1
    assert AuditLogEntry.objects.filter(type="thirdparty_signin_succeeded").count() == 1


def test_registration_flow_signs_up_too(dance):
    _, success = dance.run("carol", flow="registration")
    assert success.state == "success", success.body
    assert "ext:custom_local" in success.body["payload"]["claims"]["amr"]


def test_verified_address_links_an_existing_account(dance, account_factory):
    existing = account_factory("dave@example.com", verified=True)
    _, success = dance.run("dave")
    assert success.state == "success"
    assert Identity.objects.get().account == existing
    assert AuditLogEntry.objects.filter(type="thirdparty_linking_succeeded").count() == 1


def test_linking_refused_when_the_provider_does_not_allow_it(dance, thirdparty, account_factory):
    thirdparty(ALLOW_LINKING=False)
    account_factory("dave@example.com", verified=True)
    _, started = dance.start()
    dance.sign_in_at_provider("dave")
    answer = dance.callback(dance.consent(started.body["payload"]["redirect_url"]))
    assert returned(answer)["error"] == "user_conflict"
    assert answer["Location"].startswith(RETURN_TO)
    assert not Identity.objects.exists()
    assert AuditLogEntry.objects.filter(type="thirdparty_signin_signup_failed").count() == 1


def test_unverified_provider_address_never_links(dance, account_factory):
    victim = account_factory("victim@example.com", verified=True)
    _, started = dance.start()
    dance.sign_in_at_provider("mallory")  # claims victim@example.com, unverified
    answer = dance.callback(dance.consent(started.body["payload"]["redirect_url"]))
    assert returned(answer)["error"] == "unverified_email"
    assert not Identity.objects.filter(account=victim).exists()


def test_unverified_address_on_sign_up_is_confirmed_by_passcode(dance, passcode_outbox):
    _, after = dance.run("newbie")
    assert after.state == "passcode_confirmation", after.body
    account = Account.objects.get(emails__address="newbie@example.com")
    assert not account.emails.get().is_verified


def test_sign_up_refused_when_signup_is_off(dance, settings, oidc_provider):
    settings.HANKOFLOW = {**settings.HANKOFLOW, "ACCOUNT": {"ALLOW_SIGNUP": False}}
    _, started = dance.start()
    dance.sign_in_at_provider("alice")
    answer = dance.callback(dance.consent(started.body["payload"]["redirect_url"]))
    assert returned(answer)["error"] == "signup_disabled"
    assert not Account.objects.exists()


def test_denied_consent_goes_back_with_access_denied(dance):
    _, started = dance.start()
    dance.sign_in_at_provider("alice")
    answer = dance.callback(dance.consent(started.body["payload"]["redirect_url"], allow=False))
    assert returned(answer)["error"] == "access_denied"
    assert answer["Location"].startswith(RETURN_TO)
    assert not Account.objects.exists()


def test_wrong_state_is_refused(dance):
    _, started = dance.start()
    dance.sign_in_at_provider("alice")
    location = dance.consent(started.body["payload"]["redirect_url"])
    tampered = location.replace("state=", "state=x")
    answer = dance.callback(tampered)
    assert returned(answer)["error"] == "invalid_request"
    assert answer["Location"].startswith(ERROR_URL)
    assert not Account.objects.exists()


def test_state_without_pkce_needs_the_browsers_cookie(dance):
    _, started = dance.start(pkce=False)
    dance.sign_in_at_provider("alice")
    location = dance.consent(started.body["payload"]["redirect_url"])
    dance.flow_client.client.cookies.pop("hanko_thirdparty_state")
    answer = dance.callback(location)
    assert returned(answer)["error"] == "invalid_request"
    assert not Account.objects.exists()


def test_sign_in_without_pkce_works_with_the_cookie(dance):
    _, started = dance.start(pkce=False)
    dance.sign_in_at_provider("alice")
    answer = dance.callback(dance.consent(started.body["payload"]["redirect_url"]))
    success = dance.exchange(started, returned(answer)["hanko_token"])
    assert success.state == "success", success.body


def test_replayed_code_is_refused(dance):
    _, started = dance.start()
    dance.sign_in_at_provider("alice")
    location = dance.consent(started.body["payload"]["redirect_url"])
    first = dance.callback(location)
    assert "hanko_token" in returned(first)
    again = dance.callback(location)
    # The state is used up (OA-01) before the provider would refuse its code a second time.
    assert returned(again)["error"] == "invalid_request"
    assert returned(again)["error_description"] == "invalid state: state already used"
    assert Account.objects.count() == 1


def test_replayed_exchange_token_is_refused(dance, flow_client, oidc_provider):
    _, started = dance.start()
    dance.sign_in_at_provider("alice")
    token = returned(dance.callback(dance.consent(started.body["payload"]["redirect_url"])))[
        "hanko_token"
    ]
    assert dance.exchange(started, token).state == "success"
    other = type(dance)(flow_client.__class__(), oidc_provider)
    _, elsewhere = other.start()
    replay = other.exchange(elsewhere, token, code_verifier=dance.code_verifier)
    # Hanko: 500 technical_error; a used token is the client's mistake.
    assert replay.status == 400 and replay.error_code == "form_data_invalid_error"


def test_exchange_needs_the_same_code_verifier(dance):
    _, started = dance.start()
    dance.sign_in_at_provider("alice")
    token = returned(dance.callback(dance.consent(started.body["payload"]["redirect_url"])))[
        "hanko_token"
    ]
    wrong = dance.exchange(started, token, code_verifier="x" * 43)
    assert wrong.status == 400 and wrong.error_code == "form_data_invalid_error"
    assert dance.exchange(wrong, token).state == "success"  # the token survived


def test_redirect_target_outside_the_allow_list_is_refused(dance):
    state, refused = dance.start(redirect_to="https://app.example.com.evil.net/x")
    assert refused.status == 400 and refused.error_code == "form_data_invalid_error"
    assert refused.state == "login_init"
    assert "hanko_thirdparty_state" not in refused.cookies


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nobody listens once the socket is closed


def test_plain_oauth2_provider_without_discovery(dance, thirdparty, oidc_provider):
    thirdparty(
        USE_DISCOVERY=False,
        AUTHORIZATION_ENDPOINT=f"{oidc_provider.issuer}/authorize/",
        TOKEN_ENDPOINT=f"{oidc_provider.issuer}/token/",
        USERINFO_ENDPOINT=f"{oidc_provider.issuer}/userinfo/",
    )
    _, success = dance.run("alice")
    assert success.state == "success", success.body
    assert Identity.objects.get().email == "alice@example.com"


def test_provider_down_at_the_callback(dance, thirdparty, oidc_provider):
    thirdparty(
        USE_DISCOVERY=False,
        AUTHORIZATION_ENDPOINT=f"{oidc_provider.issuer}/authorize/",
        TOKEN_ENDPOINT=f"http://127.0.0.1:{_closed_port()}/token/",
        USERINFO_ENDPOINT=f"{oidc_provider.issuer}/userinfo/",
    )
    _, started = dance.start()
    dance.sign_in_at_provider("alice")
    answer = dance.callback(dance.consent(started.body["payload"]["redirect_url"]))
    assert returned(answer) == {
        "error": "server_error",
        "error_description": "an internal error has occurred",
    }
    assert answer["Location"].startswith(RETURN_TO)
    assert not Account.objects.exists()


def test_provider_down_at_the_start(dance, thirdparty):
    thirdparty(ISSUER=f"http://127.0.0.1:{_closed_port()}/o")
    _, refused = dance.start()
    assert refused.status == 500 and refused.error_code == "technical_error"


def test_deactivated_account_is_refused(dance, account_factory):
    existing = account_factory("dave@example.com", verified=True)
    existing.user.is_active = False
    existing.user.save()
    _, started = dance.start()
    dance.sign_in_at_provider("dave")
    answer = dance.callback(dance.consent(started.body["payload"]["redirect_url"]))
    assert returned(answer)["error"] == "access_denied"
    assert not Identity.objects.exists()


def test_legacy_auth_then_token_exchange_flow(dance, flow_client):
    start = flow_client.client.get(
        "/thirdparty/auth", {"provider": "custom_local", "redirect_to": RETURN_TO}
    )
    assert start.status_code == 307
    dance.sign_in_at_provider("alice")
    answer = dance.callback(dance.consent(start["Location"]))
    token = returned(answer)["hanko_token"]
    started = flow_client.start("token_exchange")
    success = flow_client.act(started, "exchange_token", {"token": token})
    assert success.state == "success", success.body
    assert success.body["payload"]["last_login"]["login_method"] == "third_party"
