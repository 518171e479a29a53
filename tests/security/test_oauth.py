"""Third-party OAuth/OIDC checks of ../shared/spec/security-checks.md §4 F (OA-01 ... OA-07)
that the suites elsewhere do not already prove; docs/security-checks.md maps every check to its
tests. The real-provider tests (tests/thirdparty/test_oidc_dance.py) are marked slow; these are
offline: an ID token signed here, checked by the backend hankoflow builds for a provider."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import jwt
import pyotp
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from social_core.exceptions import SocialAuthBaseException

from hankoflow.models import Identity, Session
from hankoflow.services.thirdparty import backends, redirects, tokens
from hankoflow.services.thirdparty.providers import Provider
from hankoflow.services.thirdparty.state import State
from tests.security.test_flow_integrity import assert_only_offered_actions_run

ISSUER = "https://idp.example.com"
CLIENT_ID = "hankoflow-client"
KID = "test-key"

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk() -> dict:
    public = jwt.algorithms.RSAAlgorithm.to_jwk(_KEY.public_key(), as_dict=True)
    return {**public, "kid": KID, "alg": "RS256", "use": "sig"}


@pytest.fixture
def backend(monkeypatch):
    provider = Provider(
        id="custom_acme",
        display_name="Acme",
        client_id=CLIENT_ID,
        secret="client secret",
        allow_linking=True,
        custom=True,
        scopes=("openid", "email"),
        issuer=ISSUER,
        use_discovery=True,
    )
    state = State.new(provider.id, "https://app.example.com/signed-in", code_verifier="v" * 43)
    made = backends._backend(
        provider, state, state.seal(), "http://testserver/thirdparty/callback", data={}
    )
    config = {"issuer": ISSUER, "jwks_uri": f"{ISSUER}/jwks"}
    monkeypatch.setattr(type(made), "oidc_config", lambda self: config, raising=False)
    monkeypatch.setattr(type(made), "get_jwks_keys", lambda self: [jwk()])
    made.validate_state()  # as the callback does, after checking the sealed state itself
    return made


def id_token(backend, *, key=_KEY, algorithm="RS256", headers=None, **changes) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "subject-1",
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 300,
        "nonce": backend.strategy.hanko_state.oidc_nonce,
    }
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": KID, **(headers or {})})


# --- OA-03 ID-token validation --------------------------------------------------------------------


def test_a_correct_id_token_is_accepted(backend):
    claims = backend.validate_and_return_id_token(id_token(backend), "access token")
    assert claims["sub"] == "subject-1"


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "https://evil.example.com"},
        {"iss": ISSUER + "/"},
        {"aud": "another-client"},
        {"aud": None},
        {"exp": int(time.time()) - 3600},
        {"exp": None},
        {"nonce": "not the sealed nonce"},
        {"nonce": None},
        {"sub": None},
    ],
    ids=lambda changes: "-".join(f"{k}={v}" for k, v in changes.items()),
)
def test_an_id_token_with_a_wrong_claim_is_refused(backend, changes):
    with pytest.raises(SocialAuthBaseException):
        backend.validate_and_return_id_token(id_token(backend, **changes), "access token")


def test_an_id_token_signed_by_another_key_is_refused(backend):
    with pytest.raises(SocialAuthBaseException):
        backend.validate_and_return_id_token(id_token(backend, key=_OTHER_KEY), "access token")


def test_an_unsigned_id_token_is_refused(backend):
    unsigned = jwt.encode(
        jwt.decode(id_token(backend), options={"verify_signature": False}),
        None,
        algorithm="none",
    )
    with pytest.raises((SocialAuthBaseException, jwt.PyJWTError)):
        backend.validate_and_return_id_token(unsigned, "access token")


def test_userinfo_of_another_subject_is_refused(backend):
    backend.id_token = backend.validate_and_return_id_token(id_token(backend), "access token")
    with pytest.raises(SocialAuthBaseException):
        backend.validate_userinfo_sub({"sub": "someone-else", "email": "victim@example.com"})
    assert backend.validate_userinfo_sub({"sub": "subject-1"}) == {"sub": "subject-1"}


# --- OA-04 the redirect allow-list ----------------------------------------------------------------

PATTERNS = ["https://app.example.com/**", "http://localhost**", "http://127.0.0.1**"]


@pytest.mark.parametrize(
    "url",
    [
        "https://app.example.com@evil.com/",
        "https://app.example.com:443@evil.com/",
        "https://user:pw@app.example.com/x",
        "https://app.example.com%2F@evil.com/",
        "https://app.example.com#@evil.com",
        "https://app.example.com?@evil.com",
        "/\\evil.com",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "https:///x",
        "https://\u0430pp.example.com/x",  # Cyrillic a: an IDN homograph
        "https://xn--pp-8cd.example.com/x",
        "https://app.example.com./x",
        "http://localhost.evil.com/",
        "http://127.0.0.1.evil.com/",
    ],
)
def test_redirect_tricks_outside_the_allow_list_are_refused(url):
    assert not redirects.is_allowed(url, PATTERNS)


def test_hankos_open_localhost_patterns_still_stop_at_the_host():
    assert redirects.is_allowed("http://localhost:3000/x", PATTERNS)
    assert redirects.unsafe_reason("http://localhost**")  # and a system check names them


@settings(max_examples=300, deadline=None, derandomize=True)
@given(tail=st.text(alphabet=st.sampled_from(list("@:/\\?#.%-_aZ0é\u0430 \t\n")), max_size=20))
def test_an_allowed_url_always_names_the_allowed_host(tail):
    url = f"https://app.example.com{tail}"
    if redirects.is_allowed(url, PATTERNS):
        parts = urlsplit(url)
        assert parts.scheme == "https" and parts.hostname == "app.example.com"
        assert parts.username is None and parts.port is None


# --- OA-05 / FL-08 a provider sign-in meets the account's second factor too -----------------------

VERIFIER = "c" * 43
GITHUB = {
    "ALLOWED_REDIRECT_URLS": ["https://app.example.com/**"],
    "ERROR_REDIRECT_URL": "https://app.example.com/error",
    "PROVIDERS": {"github": {"ENABLED": True, "CLIENT_ID": "id", "SECRET": "secret"}},
}


def github_token(account, settings) -> str:
    settings.HANKOFLOW = {"THIRD_PARTY": GITHUB}
    identity = Identity.objects.create(
        account=account, provider_id="github", subject="gh-1", email="", email_verified=True
    )
    return tokens.issue(account, identity, user_created=False, code_verifier=VERIFIER)


def at_thirdparty(flow_client, flow: str):
    state = flow_client.act(
        flow_client.start(flow), "register_client_capabilities", {"webauthn_available": False}
    )
    return flow_client.act(
        state,
        "thirdparty_oauth",
        {
            "provider": "github",
            "redirect_to": "https://app.example.com/x",
            "code_verifier": VERIFIER,
        },
    )


def test_a_provider_sign_in_asks_for_the_enrolled_app(flow_client, account_factory, settings):
    secret = pyotp.random_base32()
    token = github_token(account_factory("gh@example.com", totp=secret), settings)
    state = at_thirdparty(flow_client, "login")
    state = flow_client.act(state, "exchange_token", {"token": token, "code_verifier": VERIFIER})
    assert state.state == "login_otp"
    assert set(state.body["actions"]).isdisjoint({"skip", "back"})
    assert Session.objects.count() == 0
    assert_only_offered_actions_run(flow_client, state, "login")
    done = flow_client.act(state, "otp_code_validate", {"otp_code": pyotp.TOTP(secret).now()})
    assert done.state == "success"  # the address and identifiers were there already
    assert done.body["payload"]["claims"]["amr"] == ["ext:github", "totp"]


def test_a_provider_sign_in_from_the_registration_page_cannot_skip_the_app(
    flow_client, account_factory, settings
):
    """The registration flow has no MFA states: such an account must sign in through login."""
    token = github_token(account_factory("gh@example.com", totp=pyotp.random_base32()), settings)
    state = at_thirdparty(flow_client, "registration")
    refused = flow_client.act(state, "exchange_token", {"token": token, "code_verifier": VERIFIER})
    assert refused.state == "error"
    assert refused.error_code == "operation_not_permitted_error"
    assert Session.objects.count() == 0


def test_a_provider_sign_in_without_a_second_factor_is_unchanged(
    flow_client, account_factory, settings
):
    token = github_token(account_factory("gh@example.com"), settings)
    state = at_thirdparty(flow_client, "registration")
    done = flow_client.act(state, "exchange_token", {"token": token, "code_verifier": VERIFIER})
    assert done.state == "success"
    assert done.body["payload"]["claims"]["amr"] == ["ext:github"]
