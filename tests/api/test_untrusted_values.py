"""Untrusted request values never reach PostgreSQL unvalidated (issue 8, defect 1).

PostgreSQL refuses NUL in text and overlong values for ``varchar(n)``: a value that reaches a
query unchecked turns into a ``DataError`` and a 500. Everything a client controls on the session
path is sent here with NUL, overlong and garbage content — the JWT header (``kid``, ``alg``,
``typ``), its claims, the ``Authorization`` header and the session cookie, the device-trust
cookie, ``User-Agent``, the client address, ``X-Language``, the ``/users/{id}`` path, and flow
ids, credential ids, emails and usernames in Flow API bodies and on the HTML page — and every
endpoint must answer what it documents (401, 400, 403, ``is_valid: false``...), never 500.
SQLite stores NUL happily, so these run against PostgreSQL only.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client, RequestFactory, override_settings

from hankoflow.models import AuditLogEntry, Flow, Session
from hankoflow.services import device_trust, jwks, sessions
from hankoflow.testing.client import FlowClient
from tests.tokens import claims_for, sign_raw

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db,
    pytest.mark.usefixtures("postgres_only"),
]

PASSWORD = "a long enough password"
NUL = "\x00"


def browser() -> Client:
    """A client that shows a 500 as a response instead of raising the server's exception."""
    return Client(raise_request_exception=False)


# --- the session token: header, claims, transport ------------------------------------------------

SESSION_ENDPOINTS = [
    # (method, path, documented answer without a valid session)
    ("get", "/me", 401),
    ("get", "/sessions/validate", 200),
    ("post", "/logout", 401),
    ("get", f"/users/{uuid.UUID(int=7)}", 401),
    ("get", "/api/whoami", 401),
    ("get", "/protected/", 302),
    ("get", "/admin/", 302),
]


def assert_no_session(token: str, *, header: bool = True, cookie: bool = True) -> None:
    """Every session-checking endpoint answers as for no session, by Bearer header and cookie."""
    carriers: list[dict[str, Any]] = []
    if header:
        carriers.append({"HTTP_AUTHORIZATION": f"Bearer {token}"})
    if cookie:
        carriers.append({"HTTP_COOKIE": f"hanko={token}"})
    for extra in carriers:
        for method, path, expected in SESSION_ENDPOINTS:
            response = getattr(browser(), method)(path, **extra)
            assert response.status_code == expected, (path, extra, response.content[:200])
            if path == "/sessions/validate":
                assert response.json() == {"is_valid": False}
    response = browser().post(
        "/sessions/validate", {"session_token": token}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json() == {"is_valid": False}


def header_with(**changes: Any) -> dict[str, Any]:
    header: dict[str, Any] = {"alg": "RS256", "typ": "JWT", "kid": jwks.signing_key().kid}
    for name, value in changes.items():
        if value is None:
            header.pop(name)
        else:
            header[name] = value
    return header


BAD_KIDS = [
    "a\x00b",
    NUL,
    "k" * 65,
    "k" * 4000,
    "",
    " ",
    "kid with spaces",
    "kid\n",
    "k\u00e9y",
    "\ud800",  # a lone surrogate: not storable as UTF-8 either
    123,
    ["kid"],
    {"kid": "x"},
    True,
]


@pytest.mark.parametrize("kid", BAD_KIDS, ids=lambda value: repr(value)[:24])
def test_a_malformed_kid_is_no_session(issued, kid):
    token = sign_raw(header_with(kid=kid), claims_for(issued))
    assert sessions.validate(token) is None
    assert_no_session(token)


@pytest.mark.parametrize(
    "changes",
    [
        {"alg": "RS256\x00"},
        {"alg": NUL},
        {"alg": ["RS256"]},
        {"alg": None},
        {"typ": "JWT\x00"},
        {"typ": 1},
        {"typ": None},
        {"kid": None},
    ],
    ids=repr,
)
def test_a_malformed_header_is_no_session(issued, changes):
    token = sign_raw(header_with(**changes), claims_for(issued))
    assert sessions.validate(token) is None
    assert_no_session(token)


@pytest.mark.parametrize(
    "claim, value",
    [
        ("sub", NUL),
        ("sub", "a\x00b"),
        ("sub", "s" * 5000),
        ("sub", 42),
        ("session_id", NUL),
        ("session_id", str(uuid.uuid4()) + NUL),
        ("session_id", "s" * 5000),
        ("session_id", ["x"]),
        ("session_id", "{" + str(uuid.uuid4()) + "}"),
    ],
    ids=lambda value: repr(value)[:24],
)
def test_malformed_claims_signed_with_our_key_are_no_session(issued, claim, value):
    # Only we can sign; still, a claim goes through a UUID parse before it is queried.
    token = sign_raw(header_with(), claims_for(issued, **{claim: value}))
    assert sessions.validate(token) is None
    assert_no_session(token)


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer \x00",
        "Bearer " + NUL * 9000,
        "Bearer a.b.c\x00",
        "Bearer \x00.\x00.\x00",
        "Basic \x00",
        NUL,
        "Bearer " + "a" * 100_000,
    ],
    ids=lambda value: repr(value[:20]),
)
def test_a_garbage_authorization_header_is_no_session(authorization):
    for method, path, expected in SESSION_ENDPOINTS:
        response = getattr(browser(), method)(path, HTTP_AUTHORIZATION=authorization)
        assert response.status_code == expected, (path, response.content[:200])


@pytest.mark.parametrize(
    "cookie",
    ["\x00", "a\x00.b.c", "e30.e30.e30" + NUL, "x" * 9000],
    ids=lambda value: repr(value)[:16],
)
def test_a_garbage_session_cookie_is_no_session(cookie):
    assert_no_session(cookie, header=False)


@pytest.mark.parametrize(
    "user_id",
    [quote(NUL), quote("a\x00b"), "u" * 5000, quote("\u00e9"), quote(" ")],
    ids=lambda value: value[:16],
)
def test_garbage_in_the_users_path(issued, user_id):
    response = browser().get(f"/users/{user_id}")
    assert response.status_code == 401
    response = browser().get(f"/users/{user_id}", HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    assert response.status_code == 400, response.content[:200]


# --- the device-trust cookie ---------------------------------------------------------------------

GOOD_TOKEN = "A" * 86 + "=="


@pytest.mark.parametrize(
    "cookie",
    [
        NUL,
        GOOD_TOKEN + NUL,
        NUL + GOOD_TOKEN,
        f"{uuid.uuid4()}:{GOOD_TOKEN}{NUL}",
        f"{uuid.uuid4()}{NUL}:{GOOD_TOKEN}",
        f"{NUL}:{GOOD_TOKEN}",
        f"{uuid.uuid4()}:{GOOD_TOKEN}|{NUL}:{NUL}",
        "|" * 5000,
        ":" * 5000,
        "A" * 10_000,
    ],
    ids=lambda value: repr(value[:24]),
)
def test_a_garbage_device_trust_cookie_is_no_trust(account_factory, cookie):
    account = account_factory("trust@example.com")
    request = RequestFactory().post("/login")
    request.COOKIES["hanko-device-token"] = cookie
    assert device_trust.is_trusted(request, account) is False
    effect = device_trust.trust(request, account)  # merging drops what it cannot read
    assert device_trust.is_trusted(_with_cookie(effect.value), account)


def _with_cookie(value: str):
    request = RequestFactory().post("/login")
    request.COOKIES["hanko-device-token"] = value
    return request


# --- request facts stored on rows: User-Agent, client address, X-Language ----------------------


def password_login(email: str, **meta: Any):
    """Sign in by password with ``meta`` (WSGI environ values) on every request."""
    client = FlowClient(Client(raise_request_exception=False, **meta), validate=False)
    state = client.start("login")
    state = client.act(state, "register_client_capabilities", {"webauthn_available": False})
    state = client.act(state, "continue_with_login_identifier", {"email": email})
    state = client.act(state, "continue_to_password_login")
    return client.act(state, "password_login", {"password": PASSWORD})


@pytest.mark.parametrize(
    "user_agent",
    ["Mozilla\x00/5.0", NUL * 600, "UA " + "x" * 5000, "line\r\nbreak", "\x7f\x1b[31m"],
    ids=lambda value: repr(value[:20]),
)
def test_a_garbage_user_agent_is_stored_printable(account_factory, user_agent):
    account_factory("ua@example.com", password=PASSWORD)
    done = password_login("ua@example.com", HTTP_USER_AGENT=user_agent)
    assert done.status == 200 and done.state == "success", done.body
    stored = Session.objects.get().user_agent
    assert stored.isprintable() and len(stored) <= 512
    assert all(entry.meta_user_agent.isprintable() for entry in AuditLogEntry.objects.all())


@pytest.mark.parametrize(
    "address",
    [NUL, "127.0.0.1\x00", "not an address", "1" * 100, "fe80::1%" + "e" * 100],
    ids=lambda value: repr(value)[:16],
)
def test_a_garbage_client_address_is_not_stored(account_factory, address):
    account_factory("ip@example.com", password=PASSWORD)
    done = password_login("ip@example.com", REMOTE_ADDR=address)
    assert done.status == 200 and done.state == "success", done.body
    assert Session.objects.get().ip_address == ""


@pytest.mark.parametrize(
    "language",
    [NUL, "en\x00", "en\n", "de-" + "-".join(["abcdefgh"] * 20), "x" * 5000],
    ids=lambda value: repr(value[:20]),
)
def test_a_garbage_language_is_not_stored(language):
    client = browser()
    response = client.post("/login", HTTP_X_LANGUAGE=language)
    assert response.status_code == 200, response.content[:200]
    state = response.json()
    body = {"input_data": {"webauthn_available": False}, "csrf_token": state["csrf_token"]}
    response = client.post(  # the first action stores the flow, with this request's language
        state["actions"]["register_client_capabilities"]["href"],
        json.dumps(body),
        content_type="application/json",
        HTTP_X_LANGUAGE=language,
    )
    assert response.status_code == 200, response.content[:200]
    assert Flow.objects.get().language == ""


# --- Flow API bodies and the HTML page ---------------------------------------------------------


def test_a_flow_id_with_nul_in_the_action_parameter(flow_client):
    state = flow_client.start("login")
    name, _, flow_id = state.action_param("register_client_capabilities").partition("@")
    for flow_param in (
        f"{name}@{flow_id}{NUL}",
        f"{name}@{NUL}{flow_id}",
        f"{name}{NUL}@{flow_id}",
    ):
        response = flow_client.post_raw(
            f"/login?action={quote(flow_param, safe='')}",
            json.dumps({"input_data": {}, "csrf_token": state.csrf_token}).encode(),
        )
        assert response.status == 403, response.body


@pytest.mark.parametrize(
    "inputs",
    [
        {"email": "jane\x00@example.com"},
        {"email": "jane@example.com" + NUL},
        {"username": "jane\x00"},
        {"identifier": NUL},
        {"email": "jane@example.com", "extra": NUL},
    ],
    ids=repr,
)
def test_nul_in_identifiers_of_a_flow_body_is_refused(flow_client, inputs):
    state = flow_client.act(
        flow_client.start("login"), "register_client_capabilities", {"webauthn_available": True}
    )
    refused = flow_client.act(state, "continue_with_login_identifier", inputs)
    assert refused.status == 400 and refused.error_code == "form_data_invalid_error"


@pytest.mark.parametrize(
    "credential_id", [NUL, "AAAA\x00", "A" * 100 + NUL], ids=lambda value: repr(value[:10])
)
def test_nul_in_a_passkey_credential_id_is_refused(flow_client, credential_id):
    state = flow_client.act(
        flow_client.start("login"), "register_client_capabilities", {"webauthn_available": True}
    )
    state = flow_client.act(state, "webauthn_generate_request_options")
    assertion = {
        "id": credential_id,
        "rawId": credential_id,
        "type": "public-key",
        "response": {"clientDataJSON": "e30", "authenticatorData": "AA", "signature": "AA"},
    }
    refused = flow_client.act(
        state, "webauthn_verify_assertion_response", {"assertion_response": assertion}
    )
    assert refused.status == 400 and refused.error_code == "form_data_invalid_error"


def _page_form(client: Client, flow: str, action: str) -> dict[str, str]:
    """The hidden fields of the page's form for ``action``, as a browser would post them."""
    import re
    from html import unescape

    page = client.get(f"/?flow={flow}&nojs=1").content.decode()
    form = next(
        form
        for form in re.findall(r"<form .*?</form>", page, flags=re.DOTALL)
        if f'value="{action}@' in form
    )
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    return {name: unescape(value) for name, value in fields.items()}


PAGE_CASES = [
    ("login", "continue_with_login_identifier", {"email": "jane\x00@example.com"}, {}),
    ("login", "continue_with_login_identifier", {"email": NUL}, {}),
    ("login", "continue_with_login_identifier", {"identifier": "jane\x00"}, {"USERNAME": True}),
    ("login", "continue_with_login_identifier", {"identifier": NUL}, {"USERNAME": True}),
    ("registration", "register_login_identifier", {"email": "jane@example.com" + NUL}, {}),
    (
        "registration",
        "register_login_identifier",
        {"email": "jane@example.com", "username": "jane\x00x"},
        {"USERNAME": True},
    ),
]


@pytest.mark.parametrize("flow, action, inputs, options", PAGE_CASES, ids=repr)
def test_nul_posted_on_the_html_page_is_refused(flow, action, inputs, options):
    with override_settings(
        HANKOFLOW={"USERNAME": {"ENABLED": True}} if options.get("USERNAME") else {}
    ):
        client = browser()
        fields = _page_form(client, flow, action)
        response = client.post("/", {**fields, **inputs})
    assert 400 <= response.status_code < 500, response.content[:300]
    assert not Flow.objects.filter(stash__icontains="\\u0000").exists()
