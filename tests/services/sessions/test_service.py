"""Issuing, validating and revoking sessions (platform.md §2.1–2.5, flow-api.md §4.5.2;
security-checks SE-05, SE-06, SE-07, SE-08)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

import jwt
import pytest
from django.contrib.auth import user_logged_in
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.utils import timezone

from hankoflow.http import sessions as http_sessions
from hankoflow.http.request import RequestEnv
from hankoflow.models import Session
from hankoflow.services import jwks, sessions

pytestmark = pytest.mark.django_db


def apply(issued: sessions.IssuedSession) -> HttpResponse:
    response = HttpResponse()
    for effect in http_sessions.deliver(issued.effects):
        effect.apply_to(response)
    return response


def set_cookie_header(response: HttpResponse) -> str:
    (morsel,) = response.cookies.values()
    return morsel.OutputString()


def hanko(**overrides):
    return override_settings(HANKOFLOW=overrides)


# --- the token ----------------------------------------------------------------------------------


def test_token_header_and_claims(account, issued):
    header = jwt.get_unverified_header(issued.token)
    assert header == {"alg": "RS256", "kid": jwks.signing_key().kid, "typ": "JWT"}
    claims = jwt.decode(issued.token, options={"verify_signature": False})
    assert set(claims) == {"sub", "iat", "exp", "aud", "session_id", "email", "amr"}
    assert claims["sub"] == str(account.pk)
    assert claims["exp"] == claims["iat"] + 43200
    assert claims["aud"] == ["localhost"]
    assert claims["session_id"] == issued.session_id
    assert claims["email"] == {
        "address": "alice@example.com",
        "is_primary": True,
        "is_verified": True,
    }
    assert claims["amr"] == ["otp"]


def test_optional_claims(other_account):
    config = {"SESSION": {"ISSUER": "https://auth.example.com", "AUDIENCE": ["app", "api"]}}
    with hanko(**config):
        issued = sessions.issue(other_account, amr=[], env=None, remember_me=None)
        claims = jwt.decode(issued.token, options={"verify_signature": False})
        assert sessions.validate(issued.token) is not None
    assert claims["username"] == "bob"
    assert claims["iss"] == "https://auth.example.com"
    assert claims["aud"] == ["app", "api"]
    assert "amr" not in claims  # empty amr → no claim


def test_no_email_claim_without_a_primary_email(account_factory):
    account = account_factory(None, username="carol", verified=False)
    issued = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    claims = jwt.decode(issued.token, options={"verify_signature": False})
    assert "email" not in claims and claims["username"] == "carol"
    assert "email" not in issued.claims


def test_claims_payload_is_hankos_dto(account, issued):
    token = jwt.decode(issued.token, options={"verify_signature": False})

    def rfc3339(ts: int) -> str:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    assert issued.claims == {
        "subject": str(account.pk),
        "issued_at": rfc3339(token["iat"]),
        "expiration": rfc3339(token["exp"]),
        "audience": ["localhost"],
        "email": {"address": "alice@example.com", "is_primary": True, "is_verified": True},
        "session_id": issued.session_id,
        "amr": ["otp"],
    }


def test_session_row(account):
    request = RequestFactory().post("/login")
    env = RequestEnv(request=request, language="en", ip="203.0.113.9", user_agent="Firefox/140")
    issued = sessions.issue(account, amr=[], env=env, remember_me=None)
    row = Session.objects.get(pk=issued.session_id)
    claims = jwt.decode(issued.token, options={"verify_signature": False})
    assert row.account == account
    assert (row.ip_address, row.user_agent) == ("203.0.113.9", "Firefox/140")
    assert row.created_at == row.updated_at == row.last_used
    assert int(row.created_at.timestamp()) == claims["iat"]
    assert int(row.expires_at.timestamp()) == claims["exp"]


def test_ip_and_user_agent_not_stored_when_not_acquired(account):
    env = RequestEnv(RequestFactory().get("/"), "", "203.0.113.9", "Firefox/140")
    config = {"ACQUIRE_IP_ADDRESS": False, "ACQUIRE_USER_AGENT": False}
    with hanko(SESSION=config):
        issued = sessions.issue(account, amr=[], env=env, remember_me=None)
    row = Session.objects.get(pk=issued.session_id)
    assert (row.ip_address, row.user_agent) == ("", "")


def test_django_login_signal_for_http_logins_only(account):
    received = []

    def receiver(sender, request, user, **kwargs):
        received.append((request, user))

    user_logged_in.connect(receiver)
    try:
        sessions.issue(account, amr=[], env=None, remember_me=None)
        assert received == []
        request = RequestFactory().post("/login")
        sessions.issue(account, amr=[], env=RequestEnv(request, "", "", ""), remember_me=None)
    finally:
        user_logged_in.disconnect(receiver)
    assert received == [(request, account.user)]
    account.user.refresh_from_db()
    assert account.user.last_login is not None


# --- the response (SE-08) -----------------------------------------------------------------------


def test_default_cookie_and_headers(issued):
    response = apply(issued)
    assert response["X-Session-Lifetime"] == "43200"
    assert response["X-Session-Retention"] == "persistent"
    assert "X-Auth-Token" not in response
    raw = set_cookie_header(response)
    morsel = SimpleCookie(raw)["hanko"]
    assert morsel.value == issued.token
    assert morsel["path"] == "/"
    assert morsel["max-age"] == "43200"
    assert morsel["httponly"] is True and morsel["secure"] is True
    assert morsel["samesite"] == "Strict"
    assert morsel["domain"] == ""
    assert len(raw) < 4096


def test_cookie_attributes_follow_config(account):
    cookie = {"NAME": "sid", "DOMAIN": "example.com", "SECURE": False, "HTTP_ONLY": False}
    with hanko(SESSION={"COOKIE": {**cookie, "SAME_SITE": "lax"}}):
        issued = sessions.issue(account, amr=[], env=None, remember_me=None)
        morsel = SimpleCookie(set_cookie_header(apply(issued)))["sid"]
    assert morsel["domain"] == "example.com"
    assert not morsel["secure"] and not morsel["httponly"]
    assert morsel["samesite"] == "Lax"


@pytest.mark.parametrize(
    ("retention", "remember_me", "expected"),
    [
        ("persistent", None, "persistent"),
        ("session", True, "session"),
        ("prompt", True, "persistent"),
        ("prompt", False, "session"),
        ("prompt", None, "session"),
    ],
)
def test_retention(account, retention, remember_me, expected):
    with hanko(SESSION={"COOKIE": {"RETENTION": retention}}):
        issued = sessions.issue(account, amr=[], env=None, remember_me=remember_me)
    response = apply(issued)
    assert issued.retention == expected
    assert response["X-Session-Retention"] == expected
    morsel = SimpleCookie(set_cookie_header(response))["hanko"]
    if expected == "persistent":
        assert morsel["max-age"] == "43200"
    else:
        assert morsel["max-age"] == "" and morsel["expires"] == ""


def test_auth_token_header_instead_of_cookie(account):
    with hanko(SESSION={"ENABLE_AUTH_TOKEN_HEADER": True, "LIFESPAN": 600}):
        issued = sessions.issue(account, amr=[], env=None, remember_me=None)
        response = apply(issued)  # the transport reads the settings when it writes the response
    assert response["X-Auth-Token"] == issued.token
    assert response["X-Session-Lifetime"] == "600"
    assert not response.cookies


def test_delete_cookie_effect_keeps_the_attributes():
    response = HttpResponse()
    http_sessions.DeleteSessionCookie.from_settings().apply_to(response)
    morsel = SimpleCookie(set_cookie_header(response))["hanko"]
    assert morsel.value == ""
    assert morsel["max-age"] == "0"
    assert morsel["path"] == "/" and morsel["secure"] and morsel["httponly"]
    assert morsel["samesite"] == "Strict"


def test_effects_do_not_show_the_token_in_their_repr(issued):
    assert issued.token not in repr(issued)
    assert all(issued.token not in repr(effect) for effect in http_sessions.deliver(issued.effects))


# --- the session limit --------------------------------------------------------------------------


def test_session_limit_keeps_the_newest(account):
    with hanko(SESSION={"LIMIT": 3}):
        ids = []
        for offset in range(4):
            issued = sessions.issue(account, amr=[], env=None, remember_me=None)
            # distinct creation times, oldest first
            Session.objects.filter(pk=issued.session_id).update(
                created_at=timezone.now() - timedelta(minutes=10 - offset)
            )
            ids.append(issued.session_id)
    remaining = {str(s.pk) for s in Session.objects.filter(account=account)}
    assert remaining == set(ids[1:])


def test_expired_sessions_do_not_count_towards_the_limit(account):
    with hanko(SESSION={"LIMIT": 2}):
        old = sessions.issue(account, amr=[], env=None, remember_me=None)
        Session.objects.filter(pk=old.session_id).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        first = sessions.issue(account, amr=[], env=None, remember_me=None)
        second = sessions.issue(account, amr=[], env=None, remember_me=None)
    ids = {str(pk) for pk in Session.objects.values_list("pk", flat=True)}
    assert {first.session_id, second.session_id} <= ids


# --- validating ---------------------------------------------------------------------------------


def test_validate_returns_the_session(account, issued):
    info = sessions.validate(issued.token)
    assert info is not None
    assert info.account == account and info.user == account.user
    assert str(info.session.pk) == issued.session_id
    assert info.claims["sub"] == str(account.pk)


def test_validate_records_use_but_only_when_stale(issued):
    past = timezone.now() - timedelta(minutes=5)
    Session.objects.filter(pk=issued.session_id).update(last_used=past)
    assert sessions.validate(issued.token, touch=False) is not None
    assert Session.objects.get(pk=issued.session_id).last_used == past
    assert sessions.validate(issued.token) is not None
    touched = Session.objects.get(pk=issued.session_id).last_used
    assert touched > past
    assert sessions.validate(issued.token) is not None  # within the resolution: no write
    assert Session.objects.get(pk=issued.session_id).last_used == touched


def test_revoked_session_is_invalid_at_once(account, issued):
    assert sessions.revoke(issued.session_id)
    assert sessions.validate(issued.token) is None
    assert not sessions.revoke(issued.session_id)
    assert not sessions.revoke("not-a-uuid")


def test_revoke_all(account):
    tokens = [sessions.issue(account, amr=[], env=None, remember_me=None).token for _ in range(3)]
    assert sessions.revoke_all(account) == 3
    assert all(sessions.validate(token) is None for token in tokens)


def test_idle_timeout_deletes_the_session(issued):
    with hanko(SESSION={"IDLE_TIMEOUT": 600}):
        assert sessions.validate(issued.token) is not None
        Session.objects.filter(pk=issued.session_id).update(
            last_used=timezone.now() - timedelta(seconds=601)
        )
        assert sessions.validate(issued.token, touch=False) is None
    assert not Session.objects.filter(pk=issued.session_id).exists()


def test_idle_expiry_is_capped_at_the_expiry(issued):
    row = Session.objects.get(pk=issued.session_id)
    assert sessions.idle_expires_at(row) is None
    with hanko(SESSION={"IDLE_TIMEOUT": 600}):
        assert sessions.idle_expires_at(row) == row.last_used + timedelta(seconds=600)
    with hanko(SESSION={"IDLE_TIMEOUT": 10**6}):
        assert sessions.idle_expires_at(row) == row.expires_at


def test_expired_row_is_invalid(issued):
    Session.objects.filter(pk=issued.session_id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert sessions.validate(issued.token) is None


def test_deactivated_user_loses_the_session(account, issued):
    account.user.is_active = False
    account.user.save()
    assert sessions.validate(issued.token) is None


def test_deleted_user_loses_the_session(account, issued):
    account.user.delete()
    assert sessions.validate(issued.token) is None


def test_active_sessions(account, issued):
    second = sessions.issue(account, amr=[], env=None, remember_me=None)
    Session.objects.filter(pk=issued.session_id).update(
        created_at=timezone.now() - timedelta(minutes=1)
    )
    ids = [str(s.pk) for s in sessions.active_sessions(account)]
    assert ids == [second.session_id, issued.session_id]


# --- requests -----------------------------------------------------------------------------------


def test_token_lookup_order_bearer_then_cookie(issued, account):
    other = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {other.token}")
    request.COOKIES["hanko"] = issued.token
    assert http_sessions.token_from_request(request) == other.token
    info = http_sessions.session_for_request(request)
    assert str(info.session.pk) == other.session_id
    assert info.token_source == "header" and not info.from_cookie


def test_every_candidate_is_tried(issued):
    request = RequestFactory().get("/", HTTP_AUTHORIZATION="Bearer not-a-token")
    request.COOKIES["hanko"] = issued.token
    info = http_sessions.session_for_request(request)
    assert info is not None and info.from_cookie


def test_bearer_scheme_is_case_insensitive_and_others_are_ignored(issued):
    factory = RequestFactory()
    assert (
        http_sessions.token_from_request(
            factory.get("/", HTTP_AUTHORIZATION=f"bearer {issued.token}")
        )
        == issued.token
    )
    assert (
        http_sessions.token_from_request(
            factory.get("/", HTTP_AUTHORIZATION=f"Basic {issued.token}")
        )
        is None
    )


def test_tokens_in_query_strings_are_ignored(issued):
    request = RequestFactory().get("/", {"session_token": issued.token, "hanko": issued.token})
    assert http_sessions.token_from_request(request) is None


def test_session_for_request_is_computed_once(issued, django_assert_num_queries):
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    sessions.validate(issued.token, touch=False)  # the verification key is cached from now on
    with django_assert_num_queries(1):  # the session row with its account and user
        first = http_sessions.session_for_request(request, touch=False)
        second = http_sessions.session_for_request(request, touch=False)
    assert first is second is not None
