"""The profile on the server-rendered page (``/?flow=profile``): ``profile_init`` as an account
page, per-item forms, the signed-out explanation and ``next``."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from hankoflow import names as n
from hankoflow.engine import ActionView, AllowedValue, FlowResult, Input
from hankoflow.errors import FORM_DATA_INVALID, UNAUTHORIZED, VALUE_TOO_SHORT
from hankoflow.models import Account
from hankoflow.web import action_forms
from tests.web.test_page import (
    fake_result,
    form_fields,
    form_of,
    heading,
    html,
    serve,
    spy_on_run,
    state_of,
)

PRIMARY = "11111111-1111-4111-8111-111111111111"
SECOND = "22222222-2222-4222-8222-222222222222"
UNVERIFIED = "33333333-3333-4333-8333-333333333333"
CURRENT = "44444444-4444-4444-8444-444444444444"
OTHER = "55555555-5555-4555-8555-555555555555"

USER = {
    "id": "99999999-9999-4999-8999-999999999999",
    "user_id": "99999999-9999-4999-8999-999999999999",
    "emails": [
        {"id": PRIMARY, "address": "first@example.com", "is_verified": True, "is_primary": True},
        {"id": SECOND, "address": "second@example.com", "is_verified": True, "is_primary": False},
        {"id": UNVERIFIED, "address": "new@example.com", "is_verified": False, "is_primary": False},
    ],
    "username": {"id": "u", "username": "jane", "created_at": "2026-01-01T00:00:00Z"},
    "passkeys": [
        {"id": "cGsx", "name": "Laptop", "created_at": "2026-01-02T10:00:00Z", "mfa_only": False},
        {"id": "cGsy", "created_at": "2026-01-03T10:00:00Z", "mfa_only": False},
    ],
    "security_keys": [{"id": "c2sx", "name": "YubiKey", "created_at": "2026-01-04T10:00:00Z"}],
    "mfa_config": {"auth_app_set_up": True, "totp_enabled": True, "security_keys_enabled": True},
    "metadata": {"unsafe_metadata": {"theme": "dark"}},
}
SESSIONS = [
    {
        "id": CURRENT,
        "current": True,
        "user_agent": "Linux (Chrome)",
        "last_used": "2026-01-05T10:00:00Z",
        "created_at": "2026-01-05T10:00:00Z",
    },  # noqa: E501
    {
        "id": OTHER,
        "current": False,
        "ip_address": "192.0.2.7",
        "last_used": "2026-01-04T10:00:00Z",
        "created_at": "2026-01-04T10:00:00Z",
    },  # noqa: E501
]


def hidden_id(name: str, allowed: tuple[str, ...] = ()) -> Input:
    return Input(
        name,
        "string",
        required=True,
        hidden=True,
        allowed_values=tuple(AllowedValue(value, value) for value in allowed),
    )


def profile_actions() -> tuple[ActionView, ...]:
    """Every action of ``profile_init`` as the state would offer them for ``USER``."""
    return (
        ActionView(n.ACTION_ACCOUNT_DELETE, "Delete an account.", ()),
        ActionView(n.ACTION_EMAIL_CREATE, "", (Input("email", "email", required=True),)),
        ActionView(n.ACTION_EMAIL_DELETE, "", (hidden_id("email_id", (SECOND, UNVERIFIED)),)),
        ActionView(n.ACTION_EMAIL_SET_PRIMARY, "", (hidden_id("email_id"),)),
        ActionView(n.ACTION_EMAIL_VERIFY, "", (hidden_id("email_id"),)),
        ActionView(n.ACTION_OTP_SECRET_DELETE, "", ()),
        ActionView(n.ACTION_PASSWORD_UPDATE, "", (Input("password", "string", required=True),)),
        ActionView(n.ACTION_PATCH_METADATA, "", (Input("patch_metadata", "json", hidden=False),)),
        ActionView(n.ACTION_SECURITY_KEY_CREATE, "", ()),
        ActionView(n.ACTION_SECURITY_KEY_DELETE, "", (hidden_id("security_key_id"),)),
        ActionView(n.ACTION_USERNAME_UPDATE, "", (Input("username", "string", required=True),)),
        ActionView(n.ACTION_USERNAME_DELETE, "", ()),
        ActionView(n.ACTION_WEBAUTHN_CREDENTIAL_CREATE, "", ()),
        ActionView(n.ACTION_WEBAUTHN_CREDENTIAL_DELETE, "", (hidden_id("passkey_id"),)),
        ActionView(n.ACTION_SESSION_DELETE, "", (hidden_id("session_id", (OTHER,)),)),
        ActionView(
            n.ACTION_WEBAUTHN_CREDENTIAL_RENAME,
            "",
            (hidden_id("passkey_id"), Input("passkey_name", "string", required=True)),
        ),
    )


def profile_result(**overrides: Any) -> FlowResult:
    values: dict[str, Any] = {
        "flow_name": n.FLOW_PROFILE,
        "payload": {"user": USER, "sessions": SESSIONS},
        "actions": profile_actions(),
    }
    values.update(overrides)
    return fake_result(n.STATE_PROFILE_INIT, **values)


def section(page: str, key: str) -> str:
    match = re.search(rf'<section [^>]*data-section="{key}".*?</section>', page, re.DOTALL)
    assert match, f"no section {key}"
    return match.group(0)


def item(page: str, item_id: str) -> str:
    match = re.search(rf'<li class="item" data-item="{item_id}">.*?</li>', page, re.DOTALL)
    assert match, f"no item {item_id}"
    return match.group(0)


def actions_in(fragment: str) -> list[str]:
    return re.findall(r'<form [^>]*data-action="([a-z_]+)"', fragment)


def hidden_in(form: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', form)
    assert match, f"no hidden {name}"
    return unescape(match.group(1))


@pytest.fixture
def profile_page_html(client: Client, monkeypatch) -> str:
    serve(monkeypatch, profile_result())
    response = client.get("/?flow=profile")
    assert response.status_code == 200
    return html(response)


@pytest.mark.django_db
def test_profile_init_is_an_account_page(profile_page_html: str) -> None:
    page = profile_page_html
    assert state_of(page) == "profile_init"
    assert "<title>Your account</title>" in page
    keys = re.findall(r'data-section="([a-z_]+)"', page)
    assert keys == [
        "username",
        "emails",
        "password",
        "passkeys",
        "security_keys",
        "authenticator_app",
        "sessions",
        "account",
    ]
    assert "jane" in section(page, "username")
    assert actions_in(section(page, "username")) == ["username_update", "username_delete"]
    assert "You have a password." in section(page, "password")
    assert "Your authenticator app is set up." in section(page, "authenticator_app")
    assert actions_in(section(page, "authenticator_app")) == ["otp_secret_delete"]
    # Metadata is for the host application, not for people.
    assert 'data-action="patch_metadata"' not in page


@pytest.mark.django_db
def test_emails_show_badges_and_only_the_offered_forms(profile_page_html: str) -> None:
    page = profile_page_html
    primary, second, unverified = (item(page, i) for i in (PRIMARY, SECOND, UNVERIFIED))
    assert "first@example.com" in primary and "Primary</span>" in primary
    assert "Verified</span>" in primary and "Unverified" not in primary
    assert "Unverified</span>" in unverified
    # Not in email_delete's allowed values: no delete; already primary: no "make primary".
    assert actions_in(primary) == []
    assert actions_in(second) == ["email_delete", "email_set_primary"]
    assert actions_in(unverified) == ["email_delete", "email_verify"]
    delete = form_of(second, "email_delete")
    assert hidden_in(delete, "email_id") == SECOND
    assert 'aria-label="Delete: second@example.com"' in delete
    assert actions_in(section(page, "emails"))[-1] == "email_create"


@pytest.mark.django_db
def test_passkeys_can_be_renamed_and_deleted_one_by_one(profile_page_html: str) -> None:
    page = profile_page_html
    laptop, unnamed = item(page, "cGsx"), item(page, "cGsy")
    assert actions_in(laptop) == ["webauthn_credential_delete", "webauthn_credential_rename"]
    rename = form_of(laptop, "webauthn_credential_rename")
    assert hidden_in(rename, "passkey_id") == "cGsx"
    # The name field starts with the passkey's name; ids stay unique per passkey.
    assert 'id="webauthn_credential_rename--passkey_name--cGsx"' in rename
    assert 'value="Laptop"' in rename
    assert "<strong>Passkey</strong>" in unnamed
    assert actions_in(section(page, "passkeys"))[-1] == "webauthn_credential_create"
    # Hanko's element renames security keys with the passkeys' action, too.
    assert actions_in(item(page, "c2sx")) == ["security_key_delete", "webauthn_credential_rename"]
    assert actions_in(section(page, "security_keys"))[-1] == "security_key_create"


@pytest.mark.django_db
def test_sessions_mark_the_current_one_and_revoke_others(profile_page_html: str) -> None:
    page = profile_page_html
    current, other = item(page, CURRENT), item(page, OTHER)
    assert "Linux (Chrome)" in current and "This session</span>" in current
    assert actions_in(current) == []
    assert "Unknown browser" in other and "192.0.2.7" in other
    assert actions_in(other) == ["session_delete"]
    assert hidden_in(form_of(other, "session_delete"), "session_id") == OTHER


@pytest.mark.django_db
def test_account_delete_asks_for_a_confirmation(profile_page_html: str) -> None:
    form = form_of(section(profile_page_html, "account"), "account_delete")
    assert re.search(
        r'<input type="checkbox" id="account_delete--confirm" name="confirm" required>', form
    )
    assert "Yes, delete my account and everything in it." in form
    assert "button-danger" in form


@pytest.mark.django_db
def test_password_fields_are_password_fields(profile_page_html: str) -> None:
    form = form_of(profile_page_html, "password_update")
    assert 'type="password"' in form and 'autocomplete="new-password"' in form
    assert '<label for="password_update--password">New password</label>' in form


@pytest.mark.django_db
def test_a_cancelled_passkey_prompt_is_explained(client: Client, monkeypatch) -> None:
    # webauthn.js went ``back`` from webauthn_credential_verification to profile_init.
    serve(monkeypatch, profile_result())
    page = html(
        client.post("/?webauthn_error=NotAllowedError", {"flow": "profile", "action": "back@x"})
    )
    assert state_of(page) == "profile_init"
    assert "The passkey prompt was cancelled or timed out." in page


@pytest.mark.django_db
def test_an_action_no_section_knows_still_appears(client: Client, monkeypatch) -> None:
    extra = ActionView("frobnicate", "Frobnicate the account.", ())
    serve(monkeypatch, profile_result(actions=(*profile_actions(), extra)))
    page = html(client.get("/?flow=profile"))
    assert actions_in(section(page, "more")) == ["frobnicate"]
    assert "Frobnicate the account</button>" in page


@pytest.mark.django_db
def test_email_delete_without_allowed_values_offers_no_item(client: Client, monkeypatch) -> None:
    actions = tuple(
        ActionView(a.name, a.description, (hidden_id("email_id"),))
        if a.name == n.ACTION_EMAIL_DELETE
        else a
        for a in profile_actions()
    )
    serve(monkeypatch, profile_result(actions=actions))
    page = html(client.get("/?flow=profile"))
    assert 'data-action="email_delete"' not in page


@pytest.mark.django_db
def test_an_input_error_is_shown_on_the_page(client: Client, monkeypatch) -> None:
    name = Input("passkey_name", "string", required=True)
    name.error = VALUE_TOO_SHORT
    actions = tuple(
        ActionView(a.name, a.description, (hidden_id("passkey_id"), name))
        if a.name == n.ACTION_WEBAUTHN_CREDENTIAL_RENAME
        else a
        for a in profile_actions()
    )
    serve(monkeypatch, profile_result(actions=actions, status=400, error=FORM_DATA_INVALID))
    posted = {"flow": "profile", "action": "webauthn_credential_rename@x", "passkey_id": "cGsy"}
    response = client.post("/", {**posted, "passkey_name": "ab"})
    assert response.status_code == 400
    page = html(response)
    assert "Please check what you entered." in page
    # On the passkey the person renamed, not on the other one.
    assert "This is too short." in item(page, "cGsy")
    assert "This is too short." not in item(page, "cGsx")


@pytest.mark.django_db
def test_sections_hide_what_the_account_does_not_have(client: Client, monkeypatch) -> None:
    user = {"id": "x", "user_id": "x", "mfa_config": {}}
    serve(monkeypatch, profile_result(payload={"user": user}, actions=()))
    page = html(client.get("/?flow=profile"))
    assert re.findall(r'data-section="([a-z_]+)"', page) == []


def test_the_item_rules_are_the_state_s() -> None:
    form = {
        "name": n.ACTION_SESSION_DELETE,
        "item_input": "session_id",
        "item_lists": (("sessions",),),
        "item_allowed": None,
        "fields": [],
    }
    assert action_forms.for_item(form, {"id": OTHER}) is None  # no allowed values: none
    assert action_forms.for_item({**form, "item_allowed": [OTHER]}, {"id": OTHER}) is not None


# --- with a real session ---------------------------------------------------------------------


@pytest.mark.django_db
def test_without_a_session_the_page_says_so_and_links_back(client: Client) -> None:
    response = client.get("/?flow=profile&next=/dashboard/")
    assert response.status_code == 401
    page = html(response)
    assert "You’re not signed in" in page
    links = re.findall(r'<a class="button[^"]*" href="([^"]+)"', page)
    sign_in = urlsplit(unescape(links[0]))
    query = parse_qs(sign_in.query)
    assert query["flow"] == ["login"]
    back = urlsplit(query["next"][0])
    assert back.path == "/"
    assert parse_qs(back.query) == {"flow": ["profile"], "next": ["/dashboard/"]}


@pytest.mark.django_db
def test_an_expired_session_cookie_is_dropped(client: Client) -> None:
    client.cookies["hanko"] = "not-a-jwt"
    response = client.get("/?flow=profile")
    assert response.status_code == 401
    assert response.cookies["hanko"]["max-age"] == 0


@pytest.mark.django_db
def test_a_post_without_a_session_shows_the_signed_out_page(client: Client, monkeypatch) -> None:
    serve(monkeypatch, fake_result("error", flow_name="profile", status=401, error=UNAUTHORIZED))
    response = client.post("/", {"flow": "profile", "action": "email_create@x", "email": "a@b.c"})
    assert response.status_code == 401
    assert "You’re not signed in" in html(response)


@pytest.mark.django_db
def test_a_signed_in_person_gets_the_profile(signed_in_client) -> None:
    client = signed_in_client()
    page = html(client.get("/?flow=profile&nojs=1"))
    assert state_of(page) == "profile_init"
    assert client.account.emails.get().address in page
    assert "This session</span>" in page


@pytest.mark.django_db
def test_the_profile_keeps_the_page_s_policy(signed_in_client) -> None:
    response = signed_in_client().get("/?flow=profile&nojs=1")
    assert response["Content-Security-Policy"].startswith("default-src 'self'; script-src 'self';")
    page = html(response)
    assert "<style" not in page and not re.search(r"\son[a-z]+\s*=", page)
    assert 'name="csrfmiddlewaretoken"' in page


@pytest.mark.django_db
def test_account_delete_without_the_tick_does_not_run(signed_in_client, monkeypatch) -> None:
    client = signed_in_client()
    calls = spy_on_run(monkeypatch)
    response = client.post("/", {"flow": "profile", "action": "account_delete@some-flow"})
    assert response.status_code == 400
    assert "Tick the box" in html(response)
    assert calls == []


@pytest.mark.django_db
def test_deleting_the_account_from_the_page(signed_in_client, settings) -> None:
    settings.HANKOFLOW = {**settings.HANKOFLOW, "ACCOUNT": {"ALLOW_DELETION": True}}
    client = signed_in_client()
    page = html(client.get("/?flow=profile&nojs=1"))
    response = client.post("/", {**form_fields(page, "account_delete"), "confirm": "on"})
    assert response.status_code == 200
    page = html(response)
    assert state_of(page) == "account_deleted"
    assert heading(page) == "Your account is deleted"
    assert response.cookies["hanko"]["max-age"] == 0
    assert not Account.objects.filter(id=client.account.id).exists()


@pytest.mark.django_db
def test_a_sensitive_change_first_asks_who_it_is(signed_in_client, account_factory, clock) -> None:
    client = signed_in_client(account_factory(password="correct horse battery"))
    clock.advance(minutes=15)  # beyond PROFILE.REAUTHENTICATION_MAX_AGE
    page = html(client.get("/?flow=profile&nojs=1"))
    fields = form_fields(page, "password_update")
    page = html(client.post("/", {**fields, "password": "a brand new password"}))
    assert state_of(page) == "login_password"
    assert heading(page) == "Confirm it’s you"
    fields = form_fields(page, "password_login")
    page = html(client.post("/", {**fields, "password": "correct horse battery"}))
    assert state_of(page) == "profile_init"
    # Nothing was changed yet: the page says so.
    assert "You confirmed it’s you. Please make your change again." in page


@pytest.mark.django_db
def test_setting_up_an_authenticator_app_shows_the_qr_code(signed_in_client) -> None:
    client = signed_in_client()
    page = html(client.get("/?flow=profile&nojs=1"))
    page = html(client.post("/", form_fields(page, "continue_to_otp_secret_creation")))
    assert state_of(page) == "mfa_otp_secret_creation"
    assert re.search(r'<img class="otp-qr" src="data:image/png;base64,[^"]+"', page)
    assert 'class="otp-secret"' in page
    assert 'data-action="otp_code_verify"' in page


@pytest.mark.django_db
def test_the_sign_in_success_page_links_to_the_profile(client: Client, monkeypatch) -> None:
    serve(monkeypatch, fake_result("success"))
    page = html(client.get("/?flow=login&next=/shop/"))
    assert 'href="/?flow=profile&amp;next=%2Fshop%2F">Your account</a>' in page


@pytest.mark.django_db
def test_account_deleted_says_goodbye(client: Client, monkeypatch) -> None:
    serve(monkeypatch, fake_result("account_deleted", flow_name="profile"))
    page = html(client.get("/?flow=profile"))
    assert state_of(page) == "account_deleted"
    assert "Your account is deleted" in page and "<form" not in page


# --- /elements/profile/ ----------------------------------------------------------------------


def test_the_elements_profile_page_hands_its_script_the_api(client: Client) -> None:
    response = client.get("/elements/profile/")
    assert response.status_code == 200
    page = html(response)
    assert '<script type="module" src="/elements/profile/page.js"></script>' in page
    config = re.search(r'id="hanko-elements-config" type="application/json">(.*?)</script>', page)
    assert config and '"api": "http://testserver"' in config.group(1)
    assert '"bundle": "/elements/hanko-elements.js"' in config.group(1)
    # The script creates the element it needs: none starts a flow before the session is known.
    assert "<hanko-profile" not in page and "<hanko-auth" not in page


def test_the_elements_profile_script_is_served(client: Client) -> None:
    response = client.get("/elements/profile/page.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    script = response.content.decode()
    assert "hanko-profile" in script and "onUserDeleted" in script
