"""The flow page reads like a product: words for every state, action, input and error, in the
nine languages of the emails, with accessible markup."""

from __future__ import annotations

import gettext
import json
import re
from pathlib import Path

import pytest
from django.test import Client
from django.utils import translation

from hankoflow import errors
from hankoflow.engine import ActionView, Input
from hankoflow.errors import PASSCODE_INVALID
from hankoflow.web import texts
from tests.web.test_page import LOGIN_NO_JS, fake_result, heading, html, serve, state_of

SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "flow-states.json"
LANGUAGES = ["bn", "de", "en", "fr", "it", "nl", "pl", "pt-br", "zh-hans"]


def page_states() -> list[tuple[str, str]]:
    """Every (flow, state) of the login and registration flows the page can meet."""
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} is not here")
    spec = json.loads(SPEC.read_text())
    skipped = {"thirdparty"}  # social login is not built yet
    return [
        (flow, state)
        for flow in ("login", "registration")
        for state in spec[flow]
        if state not in skipped
    ]


def test_every_state_has_a_heading_and_a_sentence() -> None:
    for flow, state in page_states():
        heading_text, lead = texts.state_text(flow, state)
        assert heading_text != texts.UNKNOWN_STATE_TEXT[0] and lead, (flow, state)
        assert "_" not in str(heading_text), (flow, state)


def test_every_action_of_those_states_has_a_label() -> None:
    spec = json.loads(SPEC.read_text()) if SPEC.is_file() else pytest.skip("no spec")
    for flow, state in page_states():
        entry = spec[flow][state]
        actions = entry.get("actions", entry) if isinstance(entry, dict) else entry
        for action in actions:
            if action in ("thirdparty_oauth", "exchange_token"):
                continue
            assert texts.ACTION_LABELS.get((state, action)) or texts.ACTION_LABELS.get(action), (
                state,
                action,
            )


def test_every_error_code_of_the_catalogue_has_a_sentence() -> None:
    flow_errors, input_errors = errors.catalogue()
    for error in [*flow_errors, *input_errors]:
        assert error.code in texts.ERROR_MESSAGES, error.code


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_is_translated(language: str) -> None:
    """Each language has a translation for every text (English is the msgid itself)."""
    everything = [
        *(text for pair in texts.STATE_TEXTS.values() for text in pair),
        *texts.ACTION_LABELS.values(),
        *texts.INPUT_LABELS.values(),
        *texts.ERROR_MESSAGES.values(),
        *(text for pair in texts.PROFILE_SECTIONS.values() for text in pair if text),
        *texts.PROFILE_WORDS.values(),
    ]
    with translation.override("en"):
        english = [str(text) for text in everything]
    with translation.override(language):
        translated = [str(text) for text in everything]
    if language == "en":
        return
    # Django's own apps translate "Username" and "Password" too, and the first app in
    # INSTALLED_APPS wins: in Italian both stay as they are.
    same_word = {"Username", "Password"} if language == "it" else set()
    # Words these languages borrowed from English.
    same_word |= {"Passkey", "Passkeys", "Sessions", "Home", "Metadata (JSON)"}
    same = [e for e, t in zip(english, translated, strict=True) if e == t and e not in same_word]
    assert same == [], same


@pytest.mark.django_db
def test_login_init_reads_like_a_product(client: Client) -> None:
    page = html(client.get(LOGIN_NO_JS))
    assert state_of(page) == "login_init"
    assert heading(page) == "Sign in"
    assert "<title>Sign in</title>" in page
    # The wire name is only in data-state and the developers' JSON, never in words.
    assert ">login_init" not in page and "continue_with_login_identifier</" not in page
    assert '<label for="continue_with_login_identifier--email">Email address</label>' in page
    assert "Continue</button>" in page
    assert '<html lang="en">' in page


@pytest.mark.django_db
def test_the_page_follows_accept_language(client: Client) -> None:
    response = client.get(LOGIN_NO_JS, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")
    page = html(response)
    assert heading(page) == "Anmelden"
    assert '<html lang="de">' in page
    assert ">E-Mail-Adresse</label>" in page and "Weiter</button>" in page
    assert response["Content-Language"] == "de"
    assert "Accept-Language" in response["Vary"]


@pytest.mark.django_db
def test_x_language_wins_over_accept_language(client: Client) -> None:
    page = html(client.get(LOGIN_NO_JS, HTTP_X_LANGUAGE="fr", HTTP_ACCEPT_LANGUAGE="de"))
    assert heading(page) == "Se connecter"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept", "expected"),
    [("pt-BR", "Entrar"), ("zh-CN", "登录"), ("pl", "Zaloguj się"), ("xx", "Sign in")],
)
def test_other_languages(client: Client, accept: str, expected: str) -> None:
    assert heading(html(client.get(LOGIN_NO_JS, HTTP_ACCEPT_LANGUAGE=accept))) == expected


@pytest.mark.django_db
def test_locale_middleware_decides_when_the_host_has_it(client: Client, settings) -> None:
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django.middleware.locale.LocaleMiddleware"]
    settings.LANGUAGES = [("en", "English"), ("nl", "Dutch")]
    page = html(client.get(LOGIN_NO_JS, HTTP_ACCEPT_LANGUAGE="nl,de;q=0.5"))
    assert heading(page) == "Inloggen"
    page = html(client.get(LOGIN_NO_JS, HTTP_ACCEPT_LANGUAGE="de"))
    assert heading(page) == "Sign in"  # the host offers no German


@pytest.mark.django_db
def test_emails_follow_the_page_language(client: Client, monkeypatch) -> None:
    from hankoflow.web import flow_page

    seen: list[str] = []
    real_run = flow_page.runner.run

    def run(request, *args, **kwargs):
        seen.append(request.headers.get("X-Language", ""))
        return real_run(request, *args, **kwargs)

    monkeypatch.setattr(flow_page.runner, "run", run)
    client.get(LOGIN_NO_JS, HTTP_ACCEPT_LANGUAGE="it")
    assert seen and set(seen) == {"it"}


@pytest.mark.django_db
def test_errors_are_sentences_in_a_live_region(client: Client, monkeypatch) -> None:
    code = Input("code", "string", required=True)
    code.error = PASSCODE_INVALID
    serve(
        monkeypatch,
        fake_result(
            "passcode_confirmation",
            status=400,
            error=errors.FORM_DATA_INVALID,
            actions=(ActionView("verify_passcode", "Enter a passcode.", (code,)),),
        ),
    )
    page = html(client.get("/?flow=login", HTTP_ACCEPT_LANGUAGE="de"))
    region = re.search(r'<div id="page-errors"[^>]*>(.*?)</div>', page, re.DOTALL)
    assert region and 'aria-live="assertive"' in region.group(0)
    assert "Bitte prüfen Sie Ihre Eingaben." in region.group(1)
    assert "Dieser Code ist nicht richtig." in page
    field = re.search(r'<input type="text" id="verify_passcode--code"[^>]*>', page).group(0)
    assert 'autocomplete="one-time-code"' in field and 'inputmode="numeric"' in field
    assert 'aria-describedby="verify_passcode--code--error"' in field
    assert '<label for="verify_passcode--code">Code aus der E-Mail</label>' in page


@pytest.mark.django_db
def test_no_error_means_an_empty_hidden_region(client: Client) -> None:
    page = html(client.get(LOGIN_NO_JS))
    assert re.search(r'<div id="page-errors" [^>]*aria-live="assertive" hidden>', page)


@pytest.mark.django_db
def test_otp_setup_shows_the_key_and_the_qr_code(client: Client, monkeypatch) -> None:
    image = "data:image/png;base64,iVBORw0KGgo="
    otp = Input("otp_code", "string", required=True)
    payload = {"otp_secret": "JBSWY3DPEHPK3PXP", "otp_image_source": image}
    serve(
        monkeypatch,
        fake_result(
            "mfa_otp_secret_creation",
            payload=payload,
            actions=(ActionView("otp_code_verify", "Verify an OTP code", (otp,)),),
        ),
    )
    page = html(client.get("/?flow=login"))
    assert f'src="{image}"' in page and "JBSWY3DPEHPK3PXP</code>" in page
    field = re.search(r'<input type="text" id="otp_code_verify--otp_code"[^>]*>', page).group(0)
    assert 'inputmode="numeric"' in field and 'autocomplete="one-time-code"' in field


@pytest.mark.django_db
def test_a_non_image_otp_source_is_not_put_into_src(client: Client, monkeypatch) -> None:
    payload = {"otp_secret": "S", "otp_image_source": "javascript:alert(1)"}
    serve(monkeypatch, fake_result("mfa_otp_secret_creation", payload=payload))
    assert "<img" not in html(client.get("/?flow=login"))


@pytest.mark.parametrize("language", ["bn", "de", "fr", "it", "nl", "pl", "pt_BR", "zh_Hans"])
def test_catalogues_have_no_untranslated_entry(language: str) -> None:
    """Template strings too: every msgid of every catalogue has its translation."""
    po = Path(texts.__file__).resolve().parents[1] / "locale" / language / "LC_MESSAGES"
    catalogue = (po / "django.po").read_text()
    untranslated = re.findall(r'msgid "([^"]+)"\nmsgstr ""\n(?!")', catalogue)
    assert untranslated == []
    with (po / "django.mo").open("rb") as compiled:  # compiled after the last edit
        mo = gettext.GNUTranslations(compiled)
    assert mo.gettext("Technical details") != "Technical details"
    assert mo.gettext("Code from the email") != "Code from the email"
