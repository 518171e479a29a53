"""The server-rendered flow page (``/``) and the Hanko elements page (``/elements/``)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html import unescape
from typing import Any

import pytest
from django.http import QueryDict
from django.test import Client, override_settings

from hankoflow.engine import AllowedValue, FlowResult, Input
from hankoflow.engine.result import ActionView
from hankoflow.errors import FORM_DATA_INVALID, VALUE_TOO_SHORT
from hankoflow.web import action_forms, elements_page, files, flow_page, input_data

REMEMBER_ME = override_settings(HANKOFLOW={"SESSION": {"COOKIE": {"RETENTION": "prompt"}}})
# Starting a flow the way a browser without JavaScript ends up doing it: preflight is stepped
# on the server. (With JavaScript, webauthn.js answers the preflight page; see below.)
LOGIN_NO_JS = "/?flow=login&nojs=1"


CAPABILITIES = [
    "webauthn_available",
    "webauthn_conditional_mediation_available",
    "webauthn_platform_authenticator_available",
]


def html(response) -> str:
    return response.content.decode()


def hidden_value(page: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden field {name!r}"
    return unescape(match.group(1))


def form_of(page: str, action: str | None = None) -> str:
    """The first form on the page, or the one that executes ``action``."""
    forms = re.findall(r"<form .*?</form>", page, flags=re.DOTALL)
    assert forms, "no form on the page"
    if action is None:
        return forms[0]
    chosen = [form for form in forms if f'name="action" value="{action}@' in form]
    assert chosen, f"no form for action {action!r}"
    return chosen[0]


def form_fields(page: str, action: str | None = None) -> dict[str, str]:
    """The hidden fields of a form on the page, as a browser would post them."""
    form = form_of(page, action)
    return {
        name: hidden_value(form, name)
        for name in ("csrfmiddlewaretoken", "flow", "action", "csrf_token")
    }


def state_of(page: str) -> str:
    """The state the page shows (its section's ``data-state``; the heading is for people)."""
    match = re.search(r'data-state="([^"]*)"', page)
    assert match, "no state on the page"
    return match.group(1)


def heading(page: str) -> str:
    match = re.search(r'<h1 id="state-heading"[^>]*>([^<]*)', page)
    assert match, "no state heading"
    return unescape(match.group(1).strip())


# --- home page and starting flows ------------------------------------------------------------


@pytest.mark.django_db
def test_home_page_links_to_both_flows(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = html(response)
    assert 'href="/?flow=login"' in page and "Sign in" in page
    assert 'href="/?flow=registration"' in page and "Sign up" in page


@pytest.mark.django_db
def test_starting_a_flow_renders_preflight_for_the_script(client: Client) -> None:
    response = client.get("/?flow=login")
    assert response.status_code == 200
    page = html(response)
    assert state_of(page) == "preflight"
    assert "no-store" in response["Cache-Control"]
    assert without_messages(webauthn_config(page)) == {
        "ceremony": "capabilities",
        "action": "register_client_capabilities",
        "auto": True,
    }
    assert '<script src="/webauthn.js" defer></script>' in page
    # The capabilities form: three hidden booleans, "false" until the script knows better.
    form = form_of(page, "register_client_capabilities")
    assert 'data-action="register_client_capabilities"' in form
    for name in CAPABILITIES:
        assert f'<input type="hidden" name="{name}" value="false">' in form
        assert f'<input type="hidden" name="boolean_inputs" value="{name}">' in form
    assert "Continue</button>" in form  # the last resort: no script, no meta refresh


@pytest.mark.django_db
def test_preflight_page_works_without_javascript(client: Client) -> None:
    page = html(client.get("/?flow=registration"))
    assert state_of(page) == "preflight"
    refresh = re.search(r'<noscript><meta http-equiv="refresh" content="([^"]*)"></noscript>', page)
    assert refresh, "no meta refresh for browsers without JavaScript"
    assert unescape(refresh.group(1)) == "0; url=?flow=registration&nojs=1"
    response = client.get("/?flow=registration&nojs=1")
    assert state_of(html(response)) == "registration_init"
    assert "webauthn.js" not in html(response)


@pytest.mark.django_db
def test_posting_the_preflight_form_reports_the_capabilities(client: Client, monkeypatch) -> None:
    page = html(client.get("/?flow=login"))
    calls = spy_on_run(monkeypatch)
    form = {**form_fields(page, "register_client_capabilities"), "boolean_inputs": CAPABILITIES}
    # What webauthn.js posts in Chromium: WebAuthn and autofill yes, no platform authenticator.
    form.update(
        webauthn_available="true",
        webauthn_conditional_mediation_available="true",
        webauthn_platform_authenticator_available="false",
    )
    response = client.post("/", form)
    assert response.status_code == 200
    assert state_of(html(response)) == "login_init"
    assert calls[0]["input_data"] == {
        "webauthn_available": True,
        "webauthn_conditional_mediation_available": True,
        "webauthn_platform_authenticator_available": False,
    }


@pytest.mark.django_db
def test_login_init_after_real_capabilities_offers_passkeys(client: Client) -> None:
    page = html(client.get("/?flow=login"))
    form = {**form_fields(page, "register_client_capabilities"), "boolean_inputs": CAPABILITIES}
    form.update(dict.fromkeys(CAPABILITIES, "true"))
    page = html(client.post("/", form))
    assert state_of(page) == "login_init"
    # Passkey autofill: the payload's request_options go to the script, for a conditional get.
    config = webauthn_config(page)
    assert config is not None and config["ceremony"] == "conditional"
    assert config["action"] == "webauthn_verify_assertion_response"
    assert set(config["options"]["publicKey"]) >= {"challenge", "rpId", "userVerification"}
    identifier = re.search(r'<input type="email" [^>]*name="email"[^>]*>', page)
    assert identifier and 'autocomplete="username webauthn"' in identifier.group(0)
    assert 'data-action="webauthn_verify_assertion_response" hidden>' in page
    assert "Sign in with a passkey</button>" in form_of(page, "webauthn_generate_request_options")


@pytest.mark.django_db
def test_starting_login_without_javascript_skips_preflight(client: Client) -> None:
    response = client.get(LOGIN_NO_JS)
    assert response.status_code == 200
    page = html(response)
    assert state_of(page) == "login_init"
    assert "preflight" not in page
    assert "register_client_capabilities" not in page
    assert "<details" in page and "&quot;name&quot;: &quot;login_init&quot;" in page
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_starting_registration_without_javascript_skips_preflight(client: Client) -> None:
    response = client.get("/?flow=registration&nojs=1")
    assert response.status_code == 200
    assert state_of(html(response)) == "registration_init"


@pytest.mark.django_db
def test_auto_step_reports_no_webauthn(client: Client, monkeypatch) -> None:
    calls = spy_on_run(monkeypatch)
    client.get(LOGIN_NO_JS)
    assert calls[1]["action"].startswith("register_client_capabilities@")
    assert calls[1]["input_data"] == dict.fromkeys(CAPABILITIES, False)


@pytest.mark.django_db
def test_unknown_flow_is_a_friendly_404(client: Client) -> None:
    response = client.get("/?flow=nope")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "Page not found" in html(response)
    assert 'href="/?flow=login"' in html(response)


@pytest.mark.django_db
def test_posting_to_an_unknown_flow_is_a_404(client: Client) -> None:
    response = client.post("/", {"flow": "nope", "action": "x@y", "csrf_token": "z"})
    assert response.status_code == 404
    assert "Page not found" in html(response)


@pytest.mark.django_db
def test_posting_without_an_action_is_a_400(client: Client) -> None:
    response = client.post("/", {"flow": "login"})
    assert response.status_code == 400
    assert "Start again" in html(response)


# --- posting actions -------------------------------------------------------------------------


@pytest.mark.django_db
@REMEMBER_ME
def test_login_init_renders_remember_me_as_a_checkbox(client: Client) -> None:
    page = html(client.get(LOGIN_NO_JS))
    assert '<form method="post" action="/"' in page
    assert re.search(r'<input type="checkbox" id="[^"]+" name="remember_me">', page)
    assert '<label for="remember_me--remember_me">Stay signed in on this device</label>' in page
    assert '<input type="hidden" name="boolean_inputs" value="remember_me">' in page
    assert form_fields(page, "remember_me")["action"].startswith("remember_me@")
    assert "Save</button>" in form_of(page, "remember_me")


@pytest.mark.django_db
@REMEMBER_ME
def test_posting_remember_me_sends_a_boolean(client: Client, monkeypatch) -> None:
    page = html(client.get(LOGIN_NO_JS))
    calls = spy_on_run(monkeypatch)
    form = {
        **form_fields(page, "remember_me"),
        "boolean_inputs": "remember_me",
        "remember_me": "on",
    }
    response = client.post("/", form)
    assert response.status_code == 200
    assert state_of(html(response)) == "login_init"
    assert calls[0]["input_data"] == {"remember_me": True}
    # The new page carries a fresh flow token.
    assert hidden_value(html(response), "csrf_token") != form["csrf_token"]


@pytest.mark.django_db
@REMEMBER_ME
def test_unticked_checkbox_sends_false(client: Client, monkeypatch) -> None:
    page = html(client.get(LOGIN_NO_JS))
    calls = spy_on_run(monkeypatch)
    response = client.post(
        "/", {**form_fields(page, "remember_me"), "boolean_inputs": "remember_me"}
    )
    assert response.status_code == 200
    assert calls[0]["input_data"] == {"remember_me": False}


@pytest.mark.django_db
@REMEMBER_ME
def test_wrong_flow_csrf_token_shows_the_error_state(client: Client) -> None:
    page = html(client.get(LOGIN_NO_JS))
    form = {**form_fields(page), "csrf_token": "wrong", "boolean_inputs": "remember_me"}
    response = client.post("/", form)
    assert response.status_code == 403
    page = html(response)
    assert state_of(page) == "error"
    assert "operation_not_permitted_error" in page
    assert "Start again" in page


@pytest.mark.django_db
@REMEMBER_ME
def test_garbled_action_is_an_error_page_not_a_crash(client: Client) -> None:
    page = html(client.get(LOGIN_NO_JS))
    form = {**form_fields(page), "action": "garbage"}
    response = client.post("/", form)
    assert response.status_code in (400, 403, 500)
    assert state_of(html(response)) == "error"


@pytest.mark.django_db
def test_django_csrf_is_enforced() -> None:
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/", {"flow": "login", "action": "remember_me@x", "csrf_token": "x"})
    assert response.status_code == 403


@pytest.mark.django_db
@REMEMBER_ME
def test_django_csrf_token_from_the_page_is_accepted() -> None:
    strict = Client(enforce_csrf_checks=True)
    page = html(strict.get(LOGIN_NO_JS))
    form = {
        **form_fields(page, "remember_me"),
        "boolean_inputs": "remember_me",
        "remember_me": "on",
    }
    response = strict.post("/", form)
    assert response.status_code == 200
    assert state_of(html(response)) == "login_init"


# --- form values to JSON types ---------------------------------------------------------------


def test_form_input_data_converts_by_declared_type() -> None:
    form = QueryDict(mutable=True)
    form.update(
        {
            "csrfmiddlewaretoken": "django",
            "flow": "login",
            "action": "a@b",
            "csrf_token": "t",
            "email": "a@example.com",
            "remember_me": "on",
            "hidden_flag": "true",
            "data": '{"x": [1, 2]}',
            "broken": "{not json",
        }
    )
    for name in ("remember_me", "hidden_flag", "absent_flag"):
        form.appendlist("boolean_inputs", name)
    for name in ("data", "broken"):
        form.appendlist("json_inputs", name)
    assert input_data.form_input_data(form) == {
        "email": "a@example.com",
        "remember_me": True,
        "hidden_flag": True,
        "absent_flag": False,
        "data": {"x": [1, 2]},
        "broken": "{not json",
    }


def test_action_param_is_read_from_the_href() -> None:
    href = "/login?action=remember_me%40c0ffee00-0000-4000-8000-000000000000"
    assert action_forms.action_param(href) == "remember_me@c0ffee00-0000-4000-8000-000000000000"
    assert action_forms.action_param("/login") == ""


# --- generic rendering of any state ----------------------------------------------------------


@dataclass
class HeaderEffect:
    name: str
    value: str

    def apply_to(self, response: Any) -> None:
        response[self.name] = self.value


class CookieEffect:
    def apply_to(self, response: Any) -> None:
        response.set_cookie("hanko", "jwt", httponly=True)


def fake_result(state: str = "some_state", **overrides: Any) -> FlowResult:
    values: dict[str, Any] = {
        "flow_name": "login",
        "state": state,
        "status": 200,
        "csrf_token": "token",
        "flow_id": "c0ffee00-0000-4000-8000-000000000000",
        "payload": {},
    }
    values.update(overrides)
    return FlowResult(**values)


def serve(monkeypatch, result: FlowResult) -> None:
    monkeypatch.setattr(flow_page.runner, "run", lambda *args, **kwargs: result)


def every_input_type() -> ActionView:
    too_short = Input("password", "password", required=True, min_length=8, max_length=72)
    too_short.error = VALUE_TOO_SHORT
    preserved = Input("email", "email", required=True, max_length=120, preserve=True)
    preserved.value = "kept@example.com"
    return ActionView(
        "everything",
        "Do everything.",
        (
            preserved,
            Input("nickname", "string", min_length=3),
            too_short,
            Input("age", "number"),
            Input("flag", "boolean", required=True),
            Input("blob", "json"),
            Input("secret", "string", hidden=True, preserve=True, value="s3"),
            Input(
                "color",
                "string",
                required=True,
                allowed_values=(AllowedValue("r", "Red"), AllowedValue("g", "Green")),
            ),
        ),
    )


@pytest.mark.django_db
def test_any_state_renders_generically(client: Client, monkeypatch) -> None:
    result = fake_result(
        "made_up_state",
        status=400,
        error=FORM_DATA_INVALID,
        actions=(every_input_type(), ActionView("back", "Navigate one step back.", ())),
    )
    serve(monkeypatch, result)
    response = client.get("/?flow=login")
    assert response.status_code == 400
    page = html(response)
    assert state_of(page) == "made_up_state"
    assert "form_data_invalid_error" in page and "Please check what you entered." in page

    def tag(name: str) -> str:
        match = re.search(rf'<(?:input|select|textarea)[^>]*name="{name}"[^>]*>', page)
        assert match, f"no field {name}"
        return match.group(0)

    assert 'type="email"' in tag("email") and "required" in tag("email")
    assert 'value="kept@example.com"' in tag("email") and 'maxlength="120"' in tag("email")
    assert 'type="text"' in tag("nickname") and 'minlength="3"' in tag("nickname")
    assert "required" not in tag("nickname")
    assert 'type="password"' in tag("password") and 'minlength="8"' in tag("password")
    assert 'aria-invalid="true"' in tag("password")
    assert 'type="number"' in tag("age")
    assert 'type="checkbox"' in tag("flag") and "required" not in tag("flag")
    assert tag("blob").startswith("<textarea")
    assert tag("secret") == '<input type="hidden" name="secret" value="s3">'
    assert tag("color").startswith("<select") and "required" in tag("color")
    assert '<option value="g">Green</option>' in page
    assert "This is too short." in page and "value_too_short_error" in page
    for name in ("email", "nickname", "password", "age", "flag", "blob", "color"):
        assert f'<label for="everything--{name}">' in page
    assert '<input type="hidden" name="json_inputs" value="blob">' in page
    assert '<input type="hidden" name="boolean_inputs" value="flag">' in page
    assert "Do everything</button>" in page
    assert 'class="button-link">← Back</button>' in page
    assert page.index("Do everything</button>") < page.index("← Back</button>")


@pytest.mark.django_db
@override_settings(LOGIN_REDIRECT_URL="/after-login/")
def test_success_continues_to_login_redirect_url(client: Client, monkeypatch) -> None:
    serve(monkeypatch, fake_result("success"))
    page = html(client.get("/?flow=login"))
    assert state_of(page) == "success"
    assert heading(page) == "You’re signed in"
    assert '<a class="button" href="/after-login/">Continue</a>' in page
    assert "Start again" not in page
    assert "<form" not in page


@pytest.mark.django_db
def test_effects_are_applied_to_the_html_response(client: Client, monkeypatch) -> None:
    effects = (HeaderEffect("X-Session-Lifetime", "43200"), CookieEffect())
    serve(monkeypatch, fake_result("success", effects=effects))
    response = client.get("/?flow=login")
    assert response["X-Session-Lifetime"] == "43200"
    assert response.cookies["hanko"].value == "jwt"


# --- WebAuthn: what webauthn.js gets ----------------------------------------------------------

CREATION_OPTIONS = {
    "publicKey": {
        "rp": {"name": "hankoflow", "id": "localhost"},
        "user": {"name": "a@example.com", "displayName": "a@example.com", "id": "AAECAw"},
        "challenge": "Y2hhbGxlbmdl",
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        "timeout": 600000,
        "authenticatorSelection": {"residentKey": "required", "userVerification": "preferred"},
        "attestation": "direct",
    }
}
REQUEST_OPTIONS = {
    "publicKey": {
        "challenge": "Y2hhbGxlbmdl",
        "timeout": 600000,
        "rpId": "localhost",
        "userVerification": "preferred",
    }
}
BACK = ActionView("back", "Navigate one step back.", ())


def attestation_state(**overrides: Any) -> FlowResult:
    verify = ActionView(
        "webauthn_verify_attestation_response",
        "Send the result which was generated by creating a webauthn credential.",
        (Input("public_key", "json", required=True),),
    )
    return fake_result(
        "onboarding_verify_passkey_attestation",
        flow_name="registration",
        payload={"creation_options": CREATION_OPTIONS},
        actions=(verify, BACK),
        **overrides,
    )


def assertion_action() -> ActionView:
    return ActionView(
        "webauthn_verify_assertion_response",
        "Send the result which was generated by using a webauthn credential.",
        (Input("assertion_response", "json", required=True),),
    )


@pytest.mark.django_db
def test_creation_options_are_handed_to_the_script(client: Client, monkeypatch) -> None:
    serve(monkeypatch, attestation_state())
    page = html(client.get("/?flow=registration"))
    assert state_of(page) == "onboarding_verify_passkey_attestation"
    assert without_messages(webauthn_config(page)) == {
        "ceremony": "create",
        "action": "webauthn_verify_attestation_response",
        "field": "public_key",
        "options": CREATION_OPTIONS,
        "auto": True,
    }
    assert '<script src="/webauthn.js" defer></script>' in page
    # The attestation form is the script's: hidden, with a hidden json field to fill.
    form = form_of(page, "webauthn_verify_attestation_response")
    assert form.startswith('<form method="post" action="/" class="action"')
    assert 'data-action="webauthn_verify_attestation_response" hidden>' in form
    assert '<input type="hidden" name="public_key" value="">' in form
    assert '<input type="hidden" name="json_inputs" value="public_key">' in form
    assert "<textarea" not in page
    # back, for the script to submit on failure, and for people without JavaScript.
    assert 'class="back-form" data-action="back">' in form_of(page, "back")
    assert '<p id="webauthn-status" class="lead" role="status" hidden></p>' in page
    assert "Passkeys need JavaScript" in page  # inside <noscript>


@pytest.mark.django_db
def test_request_options_on_login_passkey_start_a_get(client: Client, monkeypatch) -> None:
    result = fake_result(
        "login_passkey",
        payload={"request_options": REQUEST_OPTIONS},
        actions=(assertion_action(), BACK),
    )
    serve(monkeypatch, result)
    page = html(client.get("/?flow=login"))
    assert without_messages(webauthn_config(page)) == {
        "ceremony": "get",
        "action": "webauthn_verify_assertion_response",
        "field": "assertion_response",
        "options": REQUEST_OPTIONS,
        "auto": True,
    }
    form = form_of(page, "webauthn_verify_assertion_response")
    assert 'data-action="webauthn_verify_assertion_response" hidden>' in form
    assert '<input type="hidden" name="assertion_response" value="">' in form
    assert '<input type="hidden" name="json_inputs" value="assertion_response">' in form
    assert 'id="webauthn-start" class="button" hidden>Try again</button>' in page


@pytest.mark.django_db
def test_request_options_on_login_init_are_for_autofill(client: Client, monkeypatch) -> None:
    identifier = ActionView(
        "continue_with_login_identifier",
        "Enter an identifier to login.",
        (Input("email", "email", required=True),),
    )
    result = fake_result(
        "login_init",
        payload={"request_options": REQUEST_OPTIONS},
        actions=(identifier, assertion_action()),
    )
    serve(monkeypatch, result)
    page = html(client.get("/?flow=login"))
    config = webauthn_config(page)
    assert config is not None and config["ceremony"] == "conditional"
    assert config["options"] == REQUEST_OPTIONS
    email = re.search(r'<input type="email" [^>]*name="email"[^>]*>', page)
    assert email and 'autocomplete="username webauthn"' in email.group(0)
    assert 'data-action="webauthn_verify_assertion_response" hidden>' in page
    assert 'data-action="continue_with_login_identifier">' in page  # visible
    assert "Passkeys need JavaScript" not in page  # the form works without
    assert 'id="webauthn-start"' not in page


@pytest.mark.django_db
def test_login_init_without_options_has_no_script(client: Client) -> None:
    page = html(client.get(LOGIN_NO_JS))
    assert webauthn_config(page) is None
    assert "<script" not in page


@pytest.mark.django_db
def test_a_failed_attempt_waits_for_a_click(client: Client, monkeypatch) -> None:
    serve(monkeypatch, attestation_state(status=400, error=FORM_DATA_INVALID))
    page = html(client.get("/?flow=registration"))
    assert webauthn_config(page)["auto"] is False
    assert 'id="webauthn-start" class="button" hidden>Try again</button>' in page


@pytest.mark.django_db
def test_options_without_the_response_action_need_no_script(client: Client, monkeypatch) -> None:
    payload = {"request_options": REQUEST_OPTIONS}
    result = fake_result("login_passkey", payload=payload, actions=(BACK,))
    serve(monkeypatch, result)
    assert webauthn_config(html(client.get("/?flow=login"))) is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("NotAllowedError", "cancelled or timed out"),
        ("InvalidStateError", "already holds a passkey"),
        ("SomethingElse", "could not complete the passkey step"),
    ],
)
def test_the_script_s_error_is_shown_after_going_back(
    client: Client, monkeypatch, name: str, text: str
) -> None:
    serve(monkeypatch, fake_result("onboarding_create_passkey", actions=(BACK,)))
    response = client.post(
        f"/?webauthn_error={name}", {"flow": "registration", "action": "back@x", "csrf_token": "t"}
    )
    page = html(response)
    assert '<p id="webauthn-error">' in page
    assert re.search(r'<div id="page-errors" [^>]*role="alert" aria-live', page)
    assert text in page


@pytest.mark.django_db
def test_posting_an_attestation_sends_json(client: Client, monkeypatch) -> None:
    calls = spy_on_run(monkeypatch)
    credential = {"id": "abc", "rawId": "abc", "type": "public-key", "response": {}}
    client.post(
        "/",
        {
            "flow": "registration",
            "action": "webauthn_verify_attestation_response@c0ffee00-0000-4000-8000-000000000000",
            "csrf_token": "t",
            "json_inputs": "public_key",
            "public_key": json.dumps(credential),
        },
    )
    assert calls[0]["input_data"] == {"public_key": credential}


def test_webauthn_script_is_served(client: Client) -> None:
    response = client.get("/webauthn.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    body = response.content.decode()
    assert body == files.WEBAUTHN_SCRIPT.read_text()
    for needle in (
        "isUserVerifyingPlatformAuthenticatorAvailable",
        "isConditionalMediationAvailable",
        "navigator.credentials.create",
        "navigator.credentials.get",
        'mediation: "conditional"',
        "getTransports",
        "attestationObject",
        "authenticatorData",
        "userHandle",
        "clientExtensionResults",
        "webauthn-options",
    ):
        assert needle in body, needle
    again = client.get("/webauthn.js", HTTP_IF_MODIFIED_SINCE=response["Last-Modified"])
    assert again.status_code == 304
    assert client.post("/webauthn.js").status_code == 405


# --- Hanko's web components ------------------------------------------------------------------


def test_elements_page_loads_the_bundle(client: Client) -> None:
    response = client.get("/elements/")
    assert response.status_code == 200
    page = html(response)
    assert "<hanko-auth" in page
    assert '"bundle": "/elements/hanko-elements.js"' in page
    assert '"api": "http://testserver"' in page
    assert '<script type="module" src="/elements/page.js"></script>' in page
    assert 'id="logout"' in page  # the "Log out" button
    script = client.get("/elements/page.js")
    assert script["Content-Type"] == "text/javascript; charset=utf-8"
    assert b"onSessionCreated" in script.content and b"hanko.logout()" in script.content


def test_bundle_view_serves_javascript(client: Client) -> None:
    response = client.get("/elements/hanko-elements.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    body = b"".join(response.streaming_content)
    assert b"register" in body and len(body) > 10_000
    modified = response["Last-Modified"]
    again = client.get("/elements/hanko-elements.js", HTTP_IF_MODIFIED_SINCE=modified)
    assert again.status_code == 304


def test_bundle_path_is_configurable(client: Client, tmp_path) -> None:
    bundle = tmp_path / "elements.js"
    bundle.write_text("export function register() {}\n")
    with override_settings(HANKOFLOW_ELEMENTS_BUNDLE=str(bundle)):
        response = client.get("/elements/hanko-elements.js")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"export function register() {}\n"


def test_missing_bundle_is_a_friendly_404(client: Client, tmp_path) -> None:
    with override_settings(HANKOFLOW_ELEMENTS_BUNDLE=str(tmp_path / "missing.js")):
        response = client.get("/elements/hanko-elements.js")
        page = html(client.get("/elements/"))
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/plain")
    assert b"HANKOFLOW_ELEMENTS_BUNDLE" in response.content
    assert "HANKOFLOW_ELEMENTS_BUNDLE" in page
    # A pip user has no repository scripts: the page must not send them to one.
    assert b"bin/setup" not in response.content and "bin/setup" not in page


def test_elements_bundle_ships_in_the_package_with_its_licence() -> None:
    bundle = elements_page.ELEMENTS_BUNDLE
    assert elements_page.elements_bundle_path() == bundle
    assert bundle.is_file() and 10_000 < bundle.stat().st_size < 1_000_000
    assert "MIT License" in (bundle.parent / "LICENSE").read_text()
    assert "2.7.0" in (bundle.parent / "README.txt").read_text()


def test_elements_page_never_mentions_repository_scripts(client: Client) -> None:
    page = html(client.get("/elements/"))
    assert "bin/setup" not in page and "not installed" not in page


# --- helpers ---------------------------------------------------------------------------------


def webauthn_config(page: str) -> dict[str, Any] | None:
    """The ``webauthn-options`` JSON block the page hands to webauthn.js."""
    match = re.search(
        r'<script id="webauthn-options" type="application/json">(.*?)</script>', page, re.DOTALL
    )
    return json.loads(match.group(1)) if match else None


def without_messages(config: dict[str, Any] | None) -> dict[str, Any] | None:
    """The script's config without its translated status texts."""
    if config is None:
        return None
    return {key: value for key, value in config.items() if key != "messages"}


def spy_on_run(monkeypatch) -> list[dict[str, Any]]:
    """Record the calls the page makes to ``runner.run`` while still running them."""
    calls: list[dict[str, Any]] = []
    real_run = flow_page.runner.run

    def run(request, flow_name, action, input_data=None, csrf_token=""):
        calls.append({"flow": flow_name, "action": action, "input_data": input_data})
        return real_run(request, flow_name, action, input_data, csrf_token)

    monkeypatch.setattr(flow_page.runner, "run", run)
    return calls
