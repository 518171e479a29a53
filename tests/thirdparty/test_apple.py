"""Sign in with Apple (platform.md §9.1) offline: Apple's token and key endpoints are answered
here, with an ES256 key for the client secret and an RSA key for Apple's ID tokens."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.test import Client

from hankoflow.checks import check_third_party
from hankoflow.models import Identity
from hankoflow.services.thirdparty import backends, providers
from hankoflow.services.thirdparty.state import COOKIE_NAME, State
from tests.thirdparty.conftest import APP, ERROR_URL, RETURN_TO, Dance, returned

CLIENT_ID = "com.example.web"
TEAM_ID = "TEAM123456"
KEY_ID = "KEY1234567"
CALLBACK = "http://testserver/thirdparty/callback"
APPLE_KEY_ID = "apple-kid-1"

_ES256 = ec.generate_private_key(ec.SECP256R1())
PRIVATE_KEY = _ES256.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
_APPLE_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def apple_block(**overrides) -> dict:
    block = {
        "ENABLED": True,
        "CLIENT_ID": CLIENT_ID,
        "TEAM_ID": TEAM_ID,
        "KEY_ID": KEY_ID,
        "PRIVATE_KEY": PRIVATE_KEY,
    }
    return {**block, **overrides}


@pytest.fixture
def apple(settings):
    settings.HANKOFLOW = {
        "THIRD_PARTY": {
            "ALLOWED_REDIRECT_URLS": [f"{APP}/**"],
            "ERROR_REDIRECT_URL": ERROR_URL,
            "PROVIDERS": {"apple": apple_block()},
        }
    }
    return providers.get("apple")


def id_token(**claims) -> str:
    now = int(time.time())
    payload = {
        "iss": "https://appleid.apple.com",
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 600,
        "sub": "001234.abcdef.0001",
        "email": "alice@example.com",
        "email_verified": "true",
        **claims,
    }
    return jwt.encode(payload, _APPLE_RSA, algorithm="RS256", headers={"kid": APPLE_KEY_ID})


class FakeApple:
    """Answers Apple's token and key endpoints; remembers the token requests."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.token_requests: list[dict] = []

    def __call__(self, method, url, *args, **kwargs):
        if url == "https://appleid.apple.com/auth/token":
            self.token_requests.append(dict(kwargs.get("data") or {}))
            return _json({"access_token": "at", "token_type": "Bearer", "id_token": self.token})
        if url == "https://appleid.apple.com/auth/keys":
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(_APPLE_RSA.public_key()))
            return _json({"keys": [{**jwk, "kid": APPLE_KEY_ID, "alg": "RS256", "use": "sig"}]})
        raise AssertionError(f"unexpected request to {url}")


def _json(body: dict) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = json.dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    return response


@pytest.fixture
def fake_apple(monkeypatch):
    def install(token: str) -> FakeApple:
        fake = FakeApple(token)
        monkeypatch.setattr(requests, "request", fake)
        return fake

    return install


def complete(provider, data=None):
    state = State.new("apple", RETURN_TO, "v" * 43)
    sealed = state.seal()
    return backends.complete(
        provider, state, sealed, CALLBACK, data={"code": "c", "state": sealed, **(data or {})}
    )


# --- the authorization URL and the client secret --------------------------------------------------


def test_authorization_url(apple):
    state = State.new("apple", RETURN_TO, "v" * 43)
    sealed = state.seal()
    url = backends.authorization_url(apple, state, sealed, CALLBACK)
    assert "&scope=name%20email" in url  # as Apple documents it
    parts = urlsplit(url)
    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://appleid.apple.com/auth/authorize"
    )
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == CALLBACK
    assert query["response_type"] == "code"
    assert query["scope"] == "name email"
    assert query["response_mode"] == "form_post"
    assert query["state"] == sealed
    assert query["code_challenge_method"] == "S256"


def test_the_client_secret_is_an_es256_jwt_of_the_team_and_key(apple, fake_apple):
    fake = fake_apple(id_token())
    complete(apple)
    [sent] = fake.token_requests
    assert sent["client_id"] == CLIENT_ID
    assert sent["code_verifier"] == "v" * 43
    secret = sent["client_secret"]
    assert jwt.get_unverified_header(secret)["kid"] == KEY_ID
    claims = jwt.decode(
        secret, _ES256.public_key(), algorithms=["ES256"], audience="https://appleid.apple.com"
    )
    assert claims["iss"] == TEAM_ID and claims["sub"] == CLIENT_ID
    assert 0 < claims["exp"] - claims["iat"] <= 300


def test_a_presigned_secret_is_sent_as_it_is(settings, fake_apple):
    presigned = jwt.encode({"iss": TEAM_ID}, _ES256, algorithm="ES256", headers={"kid": KEY_ID})
    settings.HANKOFLOW = {
        "THIRD_PARTY": {
            "PROVIDERS": {"apple": {"ENABLED": True, "CLIENT_ID": CLIENT_ID, "SECRET": presigned}}
        }
    }
    fake = fake_apple(id_token())
    complete(providers.get("apple"))
    assert fake.token_requests[0]["client_secret"] == presigned


def test_a_private_key_with_escaped_line_breaks_works(settings):
    escaped = PRIVATE_KEY.replace("\n", "\\n")
    settings.HANKOFLOW = {"THIRD_PARTY": {"PROVIDERS": {"apple": apple_block(PRIVATE_KEY=escaped)}}}
    assert providers.get("apple").private_key == PRIVATE_KEY.strip()


# --- the user from the ID token -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "verified"), [("true", True), (True, True), ("false", False), (False, False)]
)
def test_email_verified_as_apple_sends_it(apple, fake_apple, sent, verified):
    fake_apple(id_token(email_verified=sent))
    person = complete(apple)
    assert person.subject == "001234.abcdef.0001"
    assert person.email == "alice@example.com"
    assert person.email_verified is verified


def test_a_private_relay_address_is_verified_as_apple_says(apple, fake_apple):
    relay = "x7k2p9q4zz@privaterelay.appleid.com"
    fake_apple(id_token(email=relay, email_verified="true", is_private_email="true"))
    person = complete(apple)
    assert (person.email, person.email_verified) == (relay, True)


def test_an_id_token_not_for_this_client_fails(apple, fake_apple):
    fake_apple(id_token(aud="com.example.other"))
    with pytest.raises(backends.ProviderFailed):
        complete(apple)


def test_a_bad_user_field_is_a_provider_failure_not_a_crash(apple, fake_apple):
    fake_apple(id_token())
    with pytest.raises(backends.ProviderFailed):
        complete(apple, data={"user": "{not json"})


# --- the whole way, through Apple's form_post -----------------------------------------------------


@pytest.mark.django_db
def test_sign_up_through_the_form_post_callback(flow_client, apple, fake_apple):
    fake_apple(id_token())
    dance = Dance(flow_client, None)
    _, started = dance.start(provider="apple", pkce=False)  # the state cookie is required
    assert started.state == "thirdparty", started.body
    cookie = flow_client.client.cookies[COOKIE_NAME]
    # Apple POSTs from its own site: only a SameSite=None cookie would come with that POST.
    assert cookie["samesite"] == "None" and cookie["secure"]
    sealed = parse_qs(urlsplit(started.body["payload"]["redirect_url"]).query)["state"][0]
    posted = flow_client.client.post("/thirdparty/callback", {"state": sealed, "code": "c"})
    assert posted.status_code == 303
    assert COOKIE_NAME not in posted.cookies  # the GET still needs it
    answer = flow_client.client.get(posted["Location"])
    success = dance.exchange(started, returned(answer)["hanko_token"])
    assert success.state == "success", success.body
    identity = Identity.objects.get()
    assert (identity.provider_id, identity.email, identity.email_verified) == (
        "apple",
        "alice@example.com",
        True,
    )


# --- settings: the check, the offer, /.well-known/config ------------------------------------------


def problems(settings, block) -> list[str]:
    settings.HANKOFLOW = {
        "THIRD_PARTY": {
            "ALLOWED_REDIRECT_URLS": [f"{APP}/**"],
            "ERROR_REDIRECT_URL": ERROR_URL,
            "PROVIDERS": {"apple": block},
        }
    }
    return [e.msg for e in check_third_party()]


def test_a_signing_key_setup_passes_the_check(settings):
    assert problems(settings, apple_block()) == []


def test_a_presigned_secret_passes_the_check(settings):
    presigned = jwt.encode({"iss": TEAM_ID}, _ES256, algorithm="ES256")
    block = {"ENABLED": True, "CLIENT_ID": CLIENT_ID, "SECRET": presigned}
    assert problems(settings, block) == []


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (apple_block(TEAM_ID=""), "has no TEAM_ID"),
        (apple_block(KEY_ID=""), "has no KEY_ID"),
        (apple_block(PRIVATE_KEY="not a key"), "not an ES256 (P-256) private key"),
        (apple_block(CLIENT_ID=""), "has no CLIENT_ID"),
        ({"ENABLED": True, "CLIENT_ID": CLIENT_ID}, "has neither a PRIVATE_KEY"),
        ({"ENABLED": True, "CLIENT_ID": CLIENT_ID, "SECRET": "s"}, "not a client secret JWT"),
    ],
)
def test_an_incomplete_setup_is_refused(settings, block, expected):
    found = problems(settings, block)
    assert len(found) == 1 and expected in found[0], found
    assert providers.get("apple") is None


def test_an_rsa_private_key_is_refused(settings):
    rsa_pem = _APPLE_RSA.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    [found] = problems(settings, apple_block(PRIVATE_KEY=rsa_pem))
    assert "not an ES256" in found


def test_apple_is_offered_first_and_listed_in_well_known_config(client, flow_client, settings):
    settings.HANKOFLOW = {
        "THIRD_PARTY": {
            "ALLOWED_REDIRECT_URLS": [f"{APP}/**"],
            "ERROR_REDIRECT_URL": ERROR_URL,
            "PROVIDERS": {
                "github": {"ENABLED": True, "CLIENT_ID": "id", "SECRET": "s"},
                "apple": apple_block(),
            },
        }
    }
    assert client.get("/.well-known/config").json()["providers"] == ["Apple", "GitHub"]
    state = flow_client.start("login")
    state = flow_client.act(
        state,
        "register_client_capabilities",
        {"webauthn_available": False, "webauthn_conditional_mediation_available": False},
    )
    offered = state.body["actions"]["thirdparty_oauth"]["inputs"]["provider"]["allowed_values"]
    assert offered == [{"value": "apple", "name": "Apple"}, {"value": "github", "name": "GitHub"}]


def test_apples_cross_site_form_post_is_not_refused(settings):
    settings.HANKOFLOW = {"THIRD_PARTY": {"ERROR_REDIRECT_URL": ERROR_URL}}
    browser = Client(enforce_csrf_checks=True)
    posted = browser.post(
        "/thirdparty/callback",
        {"state": "s", "code": "c", "user": '{"name": {"firstName": "A"}}'},
        headers={"Origin": "https://appleid.apple.com", "Sec-Fetch-Site": "cross-site"},
    )
    assert posted.status_code == 303
    query = parse_qs(urlsplit(posted["Location"]).query)
    assert query == {"state": ["s"], "code": ["c"]}  # Apple's one-time `user` is not carried
