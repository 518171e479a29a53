"""Where third-party sign-in is offered: ``thirdparty_oauth`` in login_init and
registration_init only for providers that work, ``/.well-known/config``, ``/token_exchange``."""

import pytest

NO_WEBAUTHN = {"webauthn_available": False, "webauthn_conditional_mediation_available": False}
CREDENTIALS = {"CLIENT_ID": "id", "SECRET": "secret"}
CUSTOM = {
    **CREDENTIALS,
    "ENABLED": True,
    "SCOPES": ["openid"],
    "USE_DISCOVERY": True,
    "ISSUER": "https://idp.example.com",
}
REDIRECTS = {
    "ALLOWED_REDIRECT_URLS": ["https://app.example.com/**"],
    "ERROR_REDIRECT_URL": "https://app.example.com/error",
}


def init(flow_client, flow):
    return flow_client.act(flow_client.start(flow), "register_client_capabilities", NO_WEBAUTHN)


@pytest.mark.parametrize("flow", ["login", "registration"])
def test_not_offered_without_a_working_provider(flow_client, settings, flow):
    settings.HANKOFLOW = {"THIRD_PARTY": {**REDIRECTS, "PROVIDERS": {"google": {"ENABLED": True}}}}
    assert "thirdparty_oauth" not in init(flow_client, flow).body["actions"]


@pytest.mark.parametrize("flow", ["login", "registration"])
def test_offered_with_providers_in_hankos_order(flow_client, settings, flow):
    settings.HANKOFLOW = {
        "THIRD_PARTY": {
            **REDIRECTS,
            "PROVIDERS": {
                "google": {"ENABLED": True, **CREDENTIALS},
                "github": {"ENABLED": True, **CREDENTIALS},
            },
            "CUSTOM_PROVIDERS": {
                "Zed": {**CUSTOM, "DISPLAY_NAME": "Zed"},
                "acme": {**CUSTOM, "DISPLAY_NAME": "Acme"},
            },
        }
    }
    action = init(flow_client, flow).body["actions"]["thirdparty_oauth"]
    assert list(action["inputs"]) == ["redirect_to", "provider", "code_verifier"]
    assert action["inputs"]["provider"]["allowed_values"] == [
        {"value": "github", "name": "GitHub"},
        {"value": "google", "name": "Google"},
        {"value": "custom_acme", "name": "Acme"},
        {"value": "custom_zed", "name": "Zed"},
    ]


def test_unknown_provider_is_form_data_invalid(flow_client, settings):
    settings.HANKOFLOW = {
        "THIRD_PARTY": {**REDIRECTS, "PROVIDERS": {"github": {"ENABLED": True, **CREDENTIALS}}}
    }
    state = init(flow_client, "login")
    refused = flow_client.act(
        state, "thirdparty_oauth", {"provider": "google", "redirect_to": "https://app.example.com"}
    )
    assert refused.status == 400 and refused.error_code == "form_data_invalid_error"


def test_github_authorization_url_is_built_offline(flow_client, settings):
    settings.HANKOFLOW = {
        "THIRD_PARTY": {**REDIRECTS, "PROVIDERS": {"github": {"ENABLED": True, **CREDENTIALS}}}
    }
    state = init(flow_client, "login")
    started = flow_client.act(
        state,
        "thirdparty_oauth",
        {
            "provider": "github",
            "redirect_to": "https://app.example.com/x",
            "code_verifier": "c" * 43,
        },
    )
    assert started.state == "thirdparty"
    url = started.body["payload"]["redirect_url"]
    assert url.startswith("https://github.com/login/oauth/authorize?")
    assert "client_id=id" in url and "code_challenge_method=S256" in url
    assert "redirect_uri=http://testserver/thirdparty/callback&" in url


def test_well_known_lists_only_working_builtin_providers(client, settings):
    settings.HANKOFLOW = {
        "THIRD_PARTY": {
            **REDIRECTS,
            "PROVIDERS": {
                "github": {"ENABLED": True, **CREDENTIALS},
                "google": {"ENABLED": True},
                "apple": {"ENABLED": True, **CREDENTIALS},
            },
        }
    }
    assert client.get("/.well-known/config").json()["providers"] == ["GitHub"]


@pytest.mark.django_db
def test_token_exchange_runs_when_a_provider_is_enabled(flow_client, settings):
    assert flow_client.start("token_exchange").status == 403
    settings.HANKOFLOW = {
        "THIRD_PARTY": {**REDIRECTS, "PROVIDERS": {"github": {"ENABLED": True, **CREDENTIALS}}}
    }
    started = flow_client.start("token_exchange")
    assert started.status == 200 and started.state == "thirdparty"
    assert list(started.body["actions"]) == ["exchange_token"]


@pytest.mark.django_db
def test_callback_without_any_target_is_a_400(client, settings):
    settings.HANKOFLOW = {"THIRD_PARTY": {"ALLOWED_REDIRECT_URLS": ["https://app.example.com/**"]}}
    response = client.get("/thirdparty/callback?state=nonsense&code=x")
    assert response.status_code == 400


@pytest.mark.django_db
def test_callback_with_a_bad_state_goes_to_the_error_url(client, settings):
    settings.HANKOFLOW = {"THIRD_PARTY": REDIRECTS}
    response = client.get("/thirdparty/callback?state=nonsense&code=x")
    assert response.status_code == 307
    assert response["Location"].startswith("https://app.example.com/error?error=invalid_request")


def test_form_post_callback_redirects_to_the_get(client):
    response = client.post("/thirdparty/callback", {"state": "s", "code": "c"})
    assert response.status_code == 303
    assert response["Location"] == "/thirdparty/callback?state=s&code=c"


def test_prompt_and_acr_values_are_sent(flow_client, settings):
    custom = {
        **CUSTOM,
        "USE_DISCOVERY": False,
        "AUTHORIZATION_ENDPOINT": "https://idp.example.com/authorize",
        "TOKEN_ENDPOINT": "https://idp.example.com/token",
        "USERINFO_ENDPOINT": "https://idp.example.com/userinfo",
        "PROMPT": "select_account",
        "ACR_VALUES": ["gold", "silver"],
    }
    settings.HANKOFLOW = {"THIRD_PARTY": {**REDIRECTS, "CUSTOM_PROVIDERS": {"idp": custom}}}
    state = init(flow_client, "login")
    started = flow_client.act(
        state,
        "thirdparty_oauth",
        {"provider": "custom_idp", "redirect_to": "https://app.example.com/x/"},
    )
    url = started.body["payload"]["redirect_url"]
    assert url.startswith("https://idp.example.com/authorize?")
    assert "prompt=select_account" in url and "acr_values=gold+silver" in url
    assert "scope=openid" in url and "code_challenge" not in url  # no verifier from the client


@pytest.mark.django_db
def test_legacy_auth_redirects_to_the_provider_with_a_lax_cookie(client, settings):
    settings.HANKOFLOW = {
        "THIRD_PARTY": {**REDIRECTS, "PROVIDERS": {"github": {"ENABLED": True, **CREDENTIALS}}}
    }
    response = client.get(
        "/thirdparty/auth", {"provider": "github", "redirect_to": "https://app.example.com/x"}
    )
    assert response.status_code == 307
    assert response["Location"].startswith("https://github.com/login/oauth/authorize?")
    cookie = response.cookies["hanko_thirdparty_state"]
    assert cookie["samesite"] == "Lax" and cookie["max-age"] == 300


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("referer", "target"),
    [
        ("https://app.example.com/login", "https://app.example.com/login?"),
        ("https://evil.example.net/", "https://app.example.com/error?"),  # not on the list
        ("", "https://app.example.com/error?"),
    ],
)
def test_legacy_auth_errors_go_to_an_allowed_referer_only(client, settings, referer, target):
    settings.HANKOFLOW = {
        "THIRD_PARTY": {**REDIRECTS, "PROVIDERS": {"github": {"ENABLED": True, **CREDENTIALS}}}
    }
    response = client.get(
        "/thirdparty/auth",
        {"provider": "github", "redirect_to": "https://evil.example.net/"},
        headers={"Referer": referer} if referer else {},
    )
    assert response.status_code == 307
    assert response["Location"].startswith(target + "error=invalid_request")


@pytest.mark.django_db
def test_callback_rechecks_redirect_to_against_the_current_allow_list(client, settings):
    from hankoflow.services.thirdparty.state import State

    settings.HANKOFLOW = {
        "THIRD_PARTY": {**REDIRECTS, "PROVIDERS": {"github": {"ENABLED": True, **CREDENTIALS}}}
    }
    # Sealed while another allow-list was in force (or forged with the secret key).
    sealed = State.new("github", "https://old.example.com/x", "c" * 43).seal()
    response = client.get("/thirdparty/callback", {"state": sealed, "code": "x"})
    assert response.status_code == 307
    assert response["Location"].startswith("https://app.example.com/error?error=invalid_request")
