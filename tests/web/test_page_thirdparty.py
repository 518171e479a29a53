"""Third-party sign-in and connected accounts on the flow page (``hankoflow/web/thirdparty.py``):
one button per provider, the page that moves on to the provider, the way back with
``hanko_token`` (or ``error``) into the same flow, and the profile's connected accounts.

Most tests make the callback's token directly; ``test_page_signs_in_through_the_real_provider``
walks through tests/thirdparty's OpenID Connect provider (``slow``).
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client, RequestFactory

from hankoflow.models import Account, Identity
from hankoflow.services.thirdparty import tokens
from hankoflow.web import texts, thirdparty
from hankoflow.web.headers import FLOW_PAGE_POLICY
from tests.thirdparty.conftest import (  # noqa: F401 - fixtures
    Dance,
    oidc_provider,
    provider_settings,
)
from tests.web.test_page import LOGIN_NO_JS, form_of, hidden_value, html, state_of

GITHUB = {
    "THIRD_PARTY": {
        "ALLOWED_REDIRECT_URLS": ["http://testserver/**"],
        "ERROR_REDIRECT_URL": "http://testserver/error",
        "PROVIDERS": {"github": {"ENABLED": True, "CLIENT_ID": "id", "SECRET": "secret"}},
    }
}
PROFILE = "/?flow=profile&nojs=1"


@pytest.fixture
def github(settings):
    settings.HANKOFLOW = GITHUB


def press(client: Client, page: str, action: str, provider: str, **extra: str):
    """Press one provider's button of ``action``'s form."""
    form = form_of(page, action)
    data = {
        name: hidden_value(form, name)
        for name in ("csrfmiddlewaretoken", "flow", "action", "csrf_token")
    }
    assert f'name="provider" value="{provider}"' in form
    return client.post("/", {**data, "provider": provider, **extra})


def pending(client: Client) -> thirdparty.Pending:
    request = RequestFactory().get("/")
    request.COOKIES[thirdparty.COOKIE_NAME] = client.cookies[thirdparty.COOKIE_NAME].value
    found = thirdparty.pending_of(request)
    assert found is not None
    return found


def meta_refresh(page: str) -> str:
    match = re.search(r'<meta http-equiv="refresh" content="0; url=([^"]+)">', page)
    assert match, "no meta refresh"
    return unescape(match.group(1))


def token_for(account: Account, verifier: str, subject: str = "gh-1") -> str:
    identity = Identity.objects.get_or_create(
        account=account, provider_id="github", subject=subject
    )[0]
    return tokens.issue(account, identity, user_created=False, code_verifier=verifier)


def back_from_provider(client: Client, flow: str, **query: str):
    return client.get("/", {"flow": flow, "thirdparty": "1", **query})


# --- signing in ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_init_has_one_button_per_provider(client: Client, github) -> None:
    page = html(client.get(LOGIN_NO_JS))
    form = form_of(page, "thirdparty_oauth")
    assert 'name="provider" value="github">Sign in with GitHub</button>' in form
    assert '<select id="thirdparty_oauth--provider"' not in form


@pytest.mark.django_db
def test_registration_init_says_sign_up(client: Client, github) -> None:
    page = html(client.get("/?flow=registration&nojs=1"))
    assert ">Sign up with GitHub</button>" in form_of(page, "thirdparty_oauth")


@pytest.mark.django_db
def test_the_button_leads_to_the_provider_within_the_csp(client: Client, github) -> None:
    answer = press(
        client, html(client.get(LOGIN_NO_JS + "&next=/protected/")), "thirdparty_oauth", "github"
    )
    assert answer.status_code == 200
    assert answer["Content-Security-Policy"] == FLOW_PAGE_POLICY
    url = meta_refresh(html(answer))
    assert url.startswith("https://github.com/login/oauth/authorize?")
    assert 'id="provider-link"' in html(answer)
    assert answer.cookies["hanko_thirdparty_state"].value
    cookie = answer.cookies[thirdparty.COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    waiting = pending(client)
    assert waiting.flow == "login" and waiting.exchange.startswith("exchange_token@")
    assert waiting.back.startswith("back@") and len(waiting.code_verifier) == 64
    assert "code_challenge=" in url  # the page always uses PKCE


@pytest.mark.django_db
def test_the_token_brought_back_signs_in(client: Client, github, account_factory) -> None:
    account = account_factory("gh@example.com", verified=True)
    press(client, html(client.get(LOGIN_NO_JS)), "thirdparty_oauth", "github")
    token = token_for(account, pending(client).code_verifier)
    answer = back_from_provider(client, "login", hanko_token=token, next="/protected/")
    page = html(answer)
    assert answer.status_code == 200 and state_of(page) == "success", page[:2000]
    assert 'href="/protected/"' in page
    assert answer.cookies["hanko"].value  # the session
    assert answer.cookies[thirdparty.COOKIE_NAME].value == ""  # used up

    again = back_from_provider(client, "login", hanko_token=token)
    assert again.status_code == 400
    assert str(texts.profile_word("thirdparty_lost")) in unescape(html(again))


@pytest.mark.django_db
def test_a_token_without_the_browsers_cookie_is_not_exchanged(
    client: Client, github, account_factory
) -> None:
    account = account_factory("gh@example.com", verified=True)
    token = token_for(account, "x" * 43)
    answer = back_from_provider(Client(), "login", hanko_token=token)
    assert answer.status_code == 400 and "hanko" not in answer.cookies


@pytest.mark.django_db
def test_an_error_brought_back_returns_to_login_init(client: Client, github) -> None:
    press(client, html(client.get(LOGIN_NO_JS)), "thirdparty_oauth", "github")
    answer = back_from_provider(client, "login", error="access_denied", error_description="no")
    page = unescape(html(answer))
    assert state_of(page) == "login_init"
    assert str(texts.thirdparty_error("access_denied")) in page
    assert 'id="thirdparty-error"' in page


@pytest.mark.django_db
def test_a_redirect_not_on_the_allow_list_is_shown_as_an_error(client: Client, settings) -> None:
    third_party = {**GITHUB["THIRD_PARTY"], "ALLOWED_REDIRECT_URLS": ["https://app.test/**"]}
    settings.HANKOFLOW = {"THIRD_PARTY": third_party}
    answer = press(client, html(client.get(LOGIN_NO_JS)), "thirdparty_oauth", "github")
    assert answer.status_code == 400 and state_of(html(answer)) == "login_init"
    assert thirdparty.COOKIE_NAME not in answer.cookies


def test_every_new_text_is_translated() -> None:
    from django.utils import translation

    words = [
        *texts.PROVIDER_LABELS.values(),
        texts.PROVIDER_LABEL_FALLBACK,
        *texts.THIRDPARTY_ERRORS.values(),
        texts.THIRDPARTY_ERROR_FALLBACK,
    ]
    for language in ("bn", "de", "fr", "it", "nl", "pl", "pt-br", "zh-hans"):
        with translation.override(language):
            translated = [str(word) for word in words]
        with translation.override("en"):
            english = [str(word) for word in words]
        assert all(t != e for t, e in zip(translated, english, strict=True)), language
        assert all("%(provider)s" in t for t in translated[:4]), language


# --- the profile's connected accounts ------------------------------------------------------------


@pytest.mark.django_db
def test_profile_connects_a_provider(github, signed_in_client, account_factory) -> None:
    account = account_factory("me@example.com", password="correct horse battery")
    client = signed_in_client(account)
    page = html(client.get(PROFILE))
    section = re.search(r'id="section-connected_accounts".*?</section>', page, re.DOTALL)
    assert section, "no connected accounts section"
    assert "You have no connected accounts." in section.group(0)
    assert ">Connect GitHub</button>" in section.group(0)

    leaving = press(client, page, "connect_thirdparty_oauth_provider", "github")
    assert meta_refresh(html(leaving)).startswith("https://github.com/")
    waiting = pending(client)
    assert waiting.flow == "profile"
    token = token_for(account, waiting.code_verifier)
    answer = back_from_provider(client, "profile", hanko_token=token)
    page = html(answer)
    assert answer.status_code == 200 and state_of(page) == "profile_init", page[:2000]
    section = re.search(r'id="section-connected_accounts".*?</section>', page, re.DOTALL).group(0)
    assert "<strong>GitHub</strong>" in section
    assert "disconnect_thirdparty_oauth_provider" in section
    assert "Connect GitHub" not in section


@pytest.mark.django_db
def test_profile_disconnects_one_identity(github, signed_in_client, account_factory) -> None:
    account = account_factory("me@example.com", password="correct horse battery")
    identity = Identity.objects.create(account=account, provider_id="github", subject="gh-9")
    client = signed_in_client(account)
    page = html(client.get(PROFILE))
    form = form_of(page, "disconnect_thirdparty_oauth_provider")
    assert hidden_value(form, "identity_id") == str(identity.id)
    assert "button-danger" in form
    data = {
        name: hidden_value(form, name)
        for name in ("csrfmiddlewaretoken", "flow", "action", "csrf_token", "identity_id")
    }
    answer = client.post("/", data)
    assert answer.status_code == 200 and state_of(html(answer)) == "profile_init"
    assert not Identity.objects.exists()


# --- through the real provider -------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_page_signs_in_through_the_real_provider(settings, oidc_provider) -> None:  # noqa: F811
    third_party = provider_settings(oidc_provider)["THIRD_PARTY"]
    settings.HANKOFLOW = {
        "THIRD_PARTY": {**third_party, "ALLOWED_REDIRECT_URLS": ["http://testserver/**"]}
    }
    client = Client()
    page = html(client.get(LOGIN_NO_JS))
    assert ">Sign in with Local</button>" in form_of(page, "thirdparty_oauth")
    leaving = press(client, page, "thirdparty_oauth", "custom_local")
    walk = Dance(type("Flows", (), {"client": client})(), oidc_provider)
    walk.sign_in_at_provider("alice")
    callback = walk.callback(walk.consent(meta_refresh(html(leaving))))
    assert callback.status_code == 307
    back = urlsplit(callback["Location"])
    assert (back.scheme, back.netloc, back.path) == ("http", "testserver", "/")
    answer = client.get("/", {k: v[0] for k, v in parse_qs(back.query).items()})
    assert state_of(html(answer)) == "success", html(answer)[:2000]
    assert Identity.objects.get().account.emails.get().address == "alice@example.com"


@pytest.mark.django_db
def test_profile_return_without_the_strict_session_cookie_reloads_once(
    github, signed_in_client, account_factory
) -> None:
    # A browser back from the provider (another site's navigation) sends no SameSite=Strict
    # session cookie: the page loads itself again from this site, which then sends it.
    account = account_factory("me@example.com", password="correct horse battery")
    client = signed_in_client(account)
    press(client, html(client.get(PROFILE)), "connect_thirdparty_oauth_provider", "github")
    token = token_for(account, pending(client).code_verifier)
    session = client.cookies.pop("hanko")
    bounce = back_from_provider(client, "profile", hanko_token=token)
    assert bounce.status_code == 200
    again = meta_refresh(html(bounce))
    assert again.startswith("/?") and "bounced=1" in again and "hanko_token=" in again
    assert Identity.objects.count() == 1 and tokens.delete_expired() == 0  # nothing used yet
    client.cookies["hanko"] = session
    answer = client.get(again)
    assert state_of(html(answer)) == "profile_init"
    assert "<strong>GitHub</strong>" in html(answer)


@pytest.mark.django_db
def test_a_second_load_without_a_session_is_signed_out(
    github, signed_in_client, account_factory
) -> None:
    account = account_factory("me@example.com", password="correct horse battery")
    client = signed_in_client(account)
    press(client, html(client.get(PROFILE)), "connect_thirdparty_oauth_provider", "github")
    token = token_for(account, pending(client).code_verifier)
    client.cookies.pop("hanko")
    answer = back_from_provider(client, "profile", hanko_token=token, bounced="1")
    assert answer.status_code == 401
