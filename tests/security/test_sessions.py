"""Sessions: token typing, revocation of exchange tokens, fixation (security-checks SE-03, SE-07,
SE-09). The forged-token tables are in tests/services/sessions/test_forged_tokens.py."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from hankoflow.models import ExchangeToken, Identity, Session
from hankoflow.services import sessions
from hankoflow.services.thirdparty import tokens as exchange_tokens
from hankoflow.services.webhooks import signing

pytestmark = pytest.mark.django_db

EMAIL = "jane@example.com"
PASSWORD = "a long enough password"
VERIFIER = "c" * 43
NO_WEBAUTHN = {"webauthn_available": False, "webauthn_conditional_mediation_available": False}
THIRD_PARTY = {
    "ALLOWED_REDIRECT_URLS": ["https://app.example.com/**"],
    "ERROR_REDIRECT_URL": "https://app.example.com/error",
    "PROVIDERS": {"github": {"ENABLED": True, "CLIENT_ID": "id", "SECRET": "secret"}},
}


def refused_as_a_session(token: str) -> bool:
    me = Client().get("/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    validated = Client().post(
        "/sessions/validate", {"session_token": token}, content_type="application/json"
    )
    return (
        sessions.validate(token) is None
        and me.status_code == 401
        and validated.json() == {"is_valid": False}
    )


# --- SE-03: other tokens we make are never sessions ------------------------------------------


def test_a_real_webhook_token_is_no_session(issued):
    # Same key and kid as the session (as Hanko), but no session: refused on structure.
    token = signing.token("user.create", {"id": str(issued.session_id)})
    assert refused_as_a_session(token)


def test_an_exchange_token_is_no_session(account):
    value = exchange_tokens.issue(account, None, user_created=False, code_verifier=VERIFIER)
    assert refused_as_a_session(value)


def test_a_session_token_is_no_exchange_token(issued):
    with pytest.raises(exchange_tokens.TokenInvalid):
        exchange_tokens.consume(issued.token, VERIFIER)


# --- SE-07: ending a user ends the exchange tokens made for them ------------------------------


def exchange(flow_client, value: str):
    state = flow_client.start("token_exchange")
    return flow_client.act(state, "exchange_token", {"token": value, "code_verifier": VERIFIER})


def token_for(account) -> str:
    identity = Identity.objects.create(
        account=account, provider_id="github", subject=f"gh-{account.pk}", email_verified=True
    )
    return exchange_tokens.issue(account, identity, user_created=False, code_verifier=VERIFIER)


def test_an_exchange_token_of_a_deactivated_user_signs_nobody_in(
    flow_client, account_factory, settings
):
    settings.HANKOFLOW = {"THIRD_PARTY": THIRD_PARTY}
    account = account_factory("gh@example.com")
    value = token_for(account)
    get_user_model().objects.filter(pk=account.user.pk).update(is_active=False)
    answer = exchange(flow_client, value)
    assert answer.state != "success"
    assert answer.status < 500
    assert not Session.objects.filter(account=account).exists()


def test_an_exchange_token_of_a_deleted_user_is_gone(flow_client, account_factory, settings):
    settings.HANKOFLOW = {"THIRD_PARTY": THIRD_PARTY}
    account = account_factory("gh@example.com")
    value = token_for(account)
    account.user.delete()
    assert not ExchangeToken.objects.exists()
    answer = exchange(flow_client, value)
    assert answer.state != "success" and answer.status < 500


# --- SE-09: fixation ---------------------------------------------------------------------------


def password_login(flow_client) -> dict:
    start = flow_client.start("login")
    state = flow_client.act(start, "register_client_capabilities", NO_WEBAUTHN)
    state = flow_client.act(state, "continue_with_login_identifier", {"email": EMAIL})
    state = flow_client.act(state, "continue_to_password_login")
    done = flow_client.act(state, "password_login", {"password": PASSWORD})
    assert done.state == "success", done.body
    return done.cookies


@pytest.mark.parametrize("planted", ["attacker", "garbage", "victim_old"])
def test_a_sign_in_never_adopts_a_planted_session_cookie(flow_client, account_factory, planted):
    victim = account_factory(EMAIL, password=PASSWORD)
    attacker = account_factory("mallory@example.com")
    tokens = {
        "attacker": sessions.issue(attacker, amr=["pwd"], env=None, remember_me=None).token,
        "garbage": "a" * 40,
        "victim_old": sessions.issue(victim, amr=["pwd"], env=None, remember_me=None).token,
    }
    flow_client.client.cookies["hanko"] = tokens[planted]
    before = set(Session.objects.values_list("pk", flat=True))
    cookies = password_login(flow_client)
    new_token = cookies["hanko"].value
    assert new_token != tokens[planted]
    new_session = sessions.validate(new_token)
    assert new_session is not None
    assert new_session.session.pk not in before  # a new session id, made by the server
    assert new_session.account.pk == victim.pk
    if planted == "attacker":
        # the attacker's own session still names the attacker, never the victim
        assert sessions.validate(tokens["attacker"]).account.pk == attacker.pk


def test_every_sign_in_gets_its_own_session_id(flow_client, account_factory):
    account_factory(EMAIL, password=PASSWORD)
    first = sessions.validate(password_login(flow_client)["hanko"].value)
    second = sessions.validate(password_login(flow_client)["hanko"].value)
    assert first.session.pk != second.session.pk
