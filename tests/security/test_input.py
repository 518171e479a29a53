"""Input handling (security-checks IN-02, IN-03, IN-05, IN-06, IN-07).

The Flow API's body table is in tests/api/test_flow_transport.py; here the admin API's bodies,
the recorded duplicate-key policy, email identity, header injection and the HTTP surface.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from hankoflow.conf import settings as hankoflow_settings
from hankoflow.models import Account, Email
from hankoflow.services import api_keys

pytestmark = pytest.mark.django_db

NO_WEBAUTHN = {"webauthn_available": False}


@pytest.fixture
def admin_client(db) -> Client:
    key = api_keys.create("input", scope=api_keys.FULL).plaintext
    return Client(headers={"Authorization": f"Bearer {key}"})


def login_init(flow_client):
    state = flow_client.start("login")
    return flow_client.act(state, "register_client_capabilities", NO_WEBAUTHN)


# --- IN-02: oversized bodies ------------------------------------------------------------------


@pytest.mark.parametrize("size", [3 * 1024 * 1024, 11 * 1024 * 1024])
def test_an_oversized_admin_body_is_a_413_in_hankos_shape(admin_client, size):
    body = json.dumps({"username": "big", "name": "a" * size})
    response = admin_client.post("/admin-api/users", body, content_type="application/json")
    assert response.status_code == 413, response.content[:200]
    assert response.json() == {"code": 413, "message": "Request Entity Too Large"}
    assert not Account.objects.exists()


def test_a_body_without_content_length_is_read_as_empty(flow_client):
    # What a chunked request looks like to Django under WSGI: no CONTENT_LENGTH, so the body is
    # never read (gunicorn buffers nothing for it); the step is an empty one, refused by CSRF.
    state = login_init(flow_client)
    client = Client()
    response = client.generic(
        "POST",
        state.href("continue_with_login_identifier"),
        b'{"input_data": {"email": "a@example.com"}, "csrf_token": "' + b"x" * 10**6 + b'"}',
        content_type="application/json",
        CONTENT_LENGTH="",
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "operation_not_permitted_error"


# --- IN-03: duplicate keys (policy: the last one wins, as Go's encoding/json) ------------------


def test_duplicate_keys_last_one_wins(flow_client, account_factory, mailoutbox):
    account_factory("real@example.com")
    account_factory("decoy@example.com")
    state = login_init(flow_client)
    raw = (
        '{"input_data": {"email": "decoy@example.com", "email": "real@example.com"},'
        f' "csrf_token": "{state.csrf_token}"}}'
    ).encode()
    response = flow_client.post_raw(state.href("continue_with_login_identifier"), raw)
    assert response.status == 200
    assert response.state == "login_method_chooser"
    flow_client.act(response, "continue_to_passcode_confirmation")
    assert [m.to for m in mailoutbox] == [["real@example.com"]]


@pytest.mark.parametrize(
    ("name", "value"),
    [("email", "a" * 250 + "@example.com"), ("email", "x@" + "a" * 120 + ".com")],
)
def test_overlong_identifiers_are_refused_at_validation(flow_client, name, value):
    state = login_init(flow_client)
    answer = flow_client.act(state, "continue_with_login_identifier", {name: value})
    assert answer.status == 400
    assert answer.input_error("continue_with_login_identifier", name) is not None


# --- IN-05: email identity ----------------------------------------------------------------------


def identify(flow_client, email: str):
    return flow_client.act(
        login_init(flow_client), "continue_with_login_identifier", {"email": email}
    )


@pytest.mark.parametrize(
    "typed",
    [
        "  MIKE@EXAMPLE.COM ",
        "Mike@Example.Com",
        "mi\u212ae@example.com",  # Kelvin sign: lower() makes it an ASCII k
    ],
)
def test_case_variants_find_the_account_and_mail_goes_to_the_stored_address(
    flow_client, account_factory, mailoutbox, typed
):
    account_factory("mike@example.com")
    chooser = identify(flow_client, typed)
    assert chooser.state == "login_method_chooser", chooser.body
    flow_client.act(chooser, "continue_to_passcode_confirmation")
    assert [m.to for m in mailoutbox] == [["mike@example.com"]]


@pytest.mark.parametrize(
    "lookalike",
    [
        "m\u0131ke@example.com",  # dotless i
        "M\u0130KE@example.com",  # dotted capital I: lower() gives i + U+0307
        "mike@ex\u0430mple.com",  # Cyrillic a
        "mike@example.co\u0000m",
        "mik\u0065\u0301@example.com",  # NFD accent
        "mike@xn--exmple-cua.com",
    ],
)
def test_unicode_lookalikes_never_reach_another_account(
    flow_client, account_factory, mailoutbox, lookalike
):
    account_factory("mike@example.com")
    answer = identify(flow_client, lookalike)
    assert answer.status < 500
    if answer.state == "login_method_chooser":
        flow_client.act(answer, "continue_to_passcode_confirmation")
    assert all(m.to != ["mike@example.com"] for m in mailoutbox)
    assert set(Email.objects.values_list("address", flat=True)) == {"mike@example.com"}


def test_one_address_one_account_whatever_the_case(flow_client, account_factory, passcode_outbox):
    account_factory("mike@example.com")
    state = flow_client.start("registration")
    state = flow_client.act(state, "register_client_capabilities", NO_WEBAUTHN)
    answer = flow_client.act(state, "register_login_identifier", {"email": "MIKE@example.com"})
    assert answer.status < 500
    assert Email.objects.filter(address__iexact="mike@example.com").count() == 1
    assert Account.objects.count() == 1


# --- IN-06: header injection --------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "jane@example.com\r\nBcc: victim@example.org",
        "jane@example.com\nBcc: victim@example.org",
        "jane@example.com%0d%0aBcc:victim@example.org",
    ],
)
def test_line_breaks_in_an_email_are_refused_at_validation(flow_client, mailoutbox, email):
    state = flow_client.start("registration")
    state = flow_client.act(state, "register_client_capabilities", NO_WEBAUTHN)
    answer = flow_client.act(state, "register_login_identifier", {"email": email})
    assert answer.status == 400
    assert answer.input_error("register_login_identifier", "email") == "value_invalid_error"
    assert mailoutbox == []


def test_line_breaks_in_the_language_header_are_ignored(flow_client, account_factory, mailoutbox):
    account_factory("jane@example.com")
    state = flow_client.start("login", HTTP_X_LANGUAGE="de\r\nBcc: victim@example.org")
    state = flow_client.act(state, "register_client_capabilities", NO_WEBAUTHN)
    state = flow_client.act(state, "continue_with_login_identifier", {"email": "jane@example.com"})
    answer = flow_client.act(state, "continue_to_passcode_confirmation")
    assert answer.status == 200
    [message] = mailoutbox
    assert message.to == ["jane@example.com"] and not message.bcc
    assert all("\n" not in str(v) for v in message.extra_headers.values())


@pytest.mark.parametrize("name", ["Jane\r\nBcc: victim@example.org", "Jane\nX-Injected: y"])
def test_line_breaks_in_names_never_reach_a_mail_header(
    admin_client, account_factory, mailoutbox, django_capture_on_commit_callbacks, name
):
    # Names are profile data, never a header: the mail goes to the stored address alone.
    account = account_factory("named@example.com", password="a long enough password")
    response = admin_client.patch(
        f"/admin-api/users/{account.pk}", {"name": name}, content_type="application/json"
    )
    assert response.status_code in (200, 400)
    with django_capture_on_commit_callbacks(execute=True):
        changed = admin_client.put(
            f"/admin-api/users/{account.pk}/password",
            {"password": "another long password"},
            content_type="application/json",
        )
    assert changed.status_code == 200  # notifies the person (password_update)
    [message] = mailoutbox
    raw = message.message().as_string()
    assert message.to == ["named@example.com"] and not message.bcc
    assert "victim@example.org" not in raw and "X-Injected" not in raw


# --- IN-07: the HTTP surface --------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/login",
        "/me",
        "/logout",
        "/sessions/validate",
        "/admin-api/users",
        "/.well-known/jwks.json",
    ],
)
def test_trace_and_unknown_methods_are_refused(path):
    for method in ("TRACE", "CONNECT", "PROPFIND", "FOO"):
        response = Client().generic(method, path)
        assert response.status_code in (401, 405), (method, path, response.status_code)
        assert b"Traceback" not in response.content


@pytest.mark.parametrize(
    "origin",
    ["null", "https://evil.example", "https://app.example.com.evil.example", "http://localhost:1"],
)
def test_cors_never_reflects_an_unlisted_origin(origin):
    assert origin not in hankoflow_settings.CORS.ALLOW_ORIGINS
    client = Client()
    for response in (
        client.post("/login", HTTP_ORIGIN=origin),
        client.options("/login", HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"),
        client.get("/me", HTTP_ORIGIN=origin),
    ):
        assert "Access-Control-Allow-Origin" not in response
        assert "Access-Control-Allow-Credentials" not in response


def test_an_allowed_origin_is_echoed_exactly_with_credentials():
    origin = hankoflow_settings.CORS.ALLOW_ORIGINS[0]
    response = Client().post("/login", HTTP_ORIGIN=origin)
    assert response["Access-Control-Allow-Origin"] == origin
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in response.get("Vary", "")


@pytest.mark.parametrize("path", ["/login", "/me", "/sessions/validate"])
def test_auth_answers_are_not_cached_and_not_sniffed(flow_client, issued, path):
    client = Client(headers={"Authorization": f"Bearer {issued.token}"})
    response = (
        client.post(path, "{}", content_type="application/json")
        if path != "/me"
        else client.get(path)
    )
    assert response.status_code < 500
    assert response["X-Content-Type-Options"] == "nosniff"
    if path != "/sessions/validate":
        assert "no-store" in response.get("Cache-Control", "")


@pytest.mark.parametrize("path", ["/.well-known/config", "/me"])
def test_an_unexpected_exception_answers_generic_json(settings, monkeypatch, issued, path):
    settings.DEBUG = False

    def broken(*args, **kwargs):
        raise RuntimeError("SELECT secret_column FROM hankoflow_internal")

    monkeypatch.setattr("hankoflow.api.public.wellknown.ConfigView.get", broken)
    monkeypatch.setattr("hankoflow.services.profile.profile_data", broken)
    client = Client(raise_request_exception=False)
    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    assert response.status_code == 500
    assert response.json() == {"code": 500, "message": "Internal Server Error"}
    assert b"SELECT" not in response.content and b"Traceback" not in response.content


@pytest.mark.parametrize(
    "url",
    [
        "/thirdparty/callback?code=%00&state=%00",
        "/thirdparty/callback?error=%00&state=a%00b",
        "/thirdparty/auth?provider=%00&redirect_to=%00",
        "/saml/auth?domain=%00&redirect_to=%00",
        "/saml/callback?SAMLResponse=%00&RelayState=%00",
        "/login?action=%00",
        "/users/%00",
        "/.well-known/config?x=%00",
        "/?flow_id=%00",
    ],
)
def test_nul_in_a_query_is_no_server_error(issued, url):
    client = Client(raise_request_exception=False)
    for method in ("get", "post"):
        response = getattr(client, method)(url, HTTP_AUTHORIZATION=f"Bearer {issued.token}")
        assert response.status_code < 500, (method, url, response.status_code)
