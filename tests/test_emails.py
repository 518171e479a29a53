"""hankoflow/emails.py: templates, translations and language choice (platform.md §7.1, §7.3;
PC-09)."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.test import override_settings

from hankoflow import emails

LOCALE_DIR = Path(emails.__file__).resolve().parent / "locale"
DJANGO_LANGUAGES = sorted(emails.LANGUAGES.values())
NOTICE_KINDS = sorted(emails.KINDS - emails.CODE_KINDS)
CODE = "048213"


def render(kind: str, language: str, **context):
    values = {"ttl_minutes": 5, "service_name": "Example Shop"} | context
    if kind in emails.CODE_KINDS:
        values.setdefault("code", CODE)
    return emails.render(kind, language=language, context=values)


@pytest.mark.parametrize(
    ("x_language", "expected"),
    [
        ("de", "de"),
        ("de-AT", "de"),
        ("DE_de", "de"),
        ("en-US", "en"),
        ("pt-BR", "pt-br"),
        ("pt", "pt-br"),
        ("pt-PT", "pt-br"),
        ("pt-br", "pt-br"),
        ("zh-CN", "zh-hans"),
        ("zh", "zh-hans"),
        ("zh-Hans-SG", "zh-hans"),
        ("zh-hans", "zh-hans"),
        ("zh-TW", "en"),
        ("zh-Hant", "en"),
        ("bn-IN", "bn"),
        ("pl", "pl"),
        ("nl-BE", "nl"),
        ("fr-CA", "fr"),
        ("it", "it"),
        ("es", "en"),
        ("", "en"),
        ("undefined", "en"),
        ("../../etc/passwd", "en"),
        ("es-ES, fr;q=0.8, de;q=0.9", "de"),
        ("*, it;q=0.1", "it"),
        ("fr;q=0, nl", "nl"),
    ],
)
def test_language_for_picks_the_best_available_template_language(x_language, expected):
    assert emails.language_for(x_language) == expected


@pytest.mark.parametrize("language", DJANGO_LANGUAGES)
@pytest.mark.parametrize("kind", sorted(emails.KINDS))
def test_every_kind_renders_in_every_language(kind, language):
    rendered = render(kind, language)

    assert rendered.subject and "\n" not in rendered.subject
    assert rendered.text.strip() and rendered.html.strip()
    assert f'<html lang="{language}">' in rendered.html
    assert "Example Shop" in rendered.html
    if kind in emails.CODE_KINDS:
        assert CODE in rendered.text.splitlines()  # on a line of its own
        assert CODE in rendered.html
        assert re.search(r"\b5\b", rendered.text), "the lifetime in minutes"
    else:
        assert not re.search(r"\b\d{6}\b", rendered.text + rendered.subject)
    if language != "en":
        english = render(kind, "en")
        assert rendered.subject != english.subject, "translation missing"
        assert rendered.text != english.text


@pytest.mark.parametrize("kind", sorted(emails.CODE_KINDS))
def test_the_code_is_in_the_subject_of_code_emails(kind):
    assert CODE in render(kind, "de").subject


@pytest.mark.parametrize(
    ("language", "minutes", "expected"),
    [
        ("en", 1, "1 minute."),
        ("en", 5, "5 minutes."),
        ("pl", 1, "1 minutę."),
        ("pl", 3, "3 minuty."),
        ("pl", 5, "5 minut."),
        ("pl", 22, "22 minuty."),
        ("fr", 1, "1 minute."),
        ("fr", 10, "10 minutes."),
        ("de", 1, "1 Minute ab."),
        ("de", 5, "5 Minuten ab."),
    ],
)
def test_lifetime_uses_the_plural_rules_of_the_language(language, minutes, expected):
    assert expected in render("login", language, ttl_minutes=minutes).text


def test_text_is_not_html_escaped_but_html_is():
    rendered = render("email_login_attempted", "en", service_name="Bob & Alice <Co>")

    assert "Bob & Alice <Co>" in rendered.text
    assert "Bob &amp; Alice &lt;Co&gt;" in rendered.html
    assert "<Co>" not in rendered.html


def test_subject_is_one_line_whatever_the_context_holds():
    # "test": a subject that carries a template variable (the notifications' do not).
    rendered = render("test", "en", service_name="Evil\r\nBcc: x@example.com")

    assert "\n" not in rendered.subject and "\r" not in rendered.subject


@override_settings(LANGUAGE_CODE="de")
def test_english_stays_english_when_the_project_default_language_differs():
    assert render("login", "en").subject == f"{CODE} is your sign-in code for Example Shop"


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown email kind"):
        emails.render("newsletter", language="en", context={})


def test_host_project_templates_override_ours(tmp_path, settings):
    override = tmp_path / "hankoflow" / "email"
    override.mkdir(parents=True)
    (override / "login_subject.txt").write_text("Your code: {{ code }}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]

    rendered = render("login", "en")

    assert rendered.subject == f"Your code: {CODE}"
    assert "Use this one-time code" in rendered.text  # the rest still comes from hankoflow


@pytest.mark.parametrize("locale", ["bn", "de", "fr", "it", "nl", "pl", "pt_BR", "zh_Hans"])
def test_compiled_catalogues_translate_every_message(locale):
    """The shipped .mo files are compiled from the current .po files: nothing left out."""
    msgids = _msgids(LOCALE_DIR / "en" / "LC_MESSAGES" / "django.po")
    with open(LOCALE_DIR / locale / "LC_MESSAGES" / "django.mo", "rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)

    # Present in the compiled catalogue, not "differs from English": some words are the same
    # in both ("Passkeys" in German).
    compiled = {key[0] if isinstance(key, tuple) else key for key in catalogue._catalog}
    assert msgids
    for msgid in msgids:
        assert msgid in compiled, f"{locale}: {msgid!r} is not translated in django.mo"


def test_every_template_language_has_a_catalogue():
    for locale in ["bn", "de", "en", "fr", "it", "nl", "pl", "pt_BR", "zh_Hans"]:
        assert (LOCALE_DIR / locale / "LC_MESSAGES" / "django.po").is_file()
        assert (LOCALE_DIR / locale / "LC_MESSAGES" / "django.mo").is_file()


def _msgids(po: Path) -> list[str]:
    return [m for m in re.findall(r'^msgid "(.*)"$', po.read_text(), re.MULTILINE) if m]


# -- security notifications (platform.md §7.1, §7.4) -------------------------------------------

NOTIFICATION_CONTEXT = {
    "old_email": "old.address@example.com",
    "new_email": "new.address@example.com",
    "deleted_email": "gone.address@example.com",
}
# platform.md §7.1: the English subject and first sentence of each notification.
NOTIFICATION_TEXTS = {
    emails.PASSWORD_UPDATE: (
        "Your password has been updated",
        "The password for your Example Shop account has been updated.",
    ),
    emails.PRIMARY_EMAIL_UPDATE: (
        "Your primary email address has been updated",
        "The primary email address for your Example Shop account has been updated from "
        "old.address@example.com to new.address@example.com.",
    ),
    emails.EMAIL_CREATE: (
        "A new email address has been added",
        "The email address new.address@example.com has been added to your Example Shop account.",
    ),
    emails.EMAIL_DELETE: (
        "An email address has been removed",
        "The email address gone.address@example.com has been removed from your Example Shop "
        "account.",
    ),
    emails.PASSKEY_CREATE: (
        "A new passkey has been added",
        "A new passkey has been added to your Example Shop account.",
    ),
    emails.MFA_CREATE: (
        "A new MFA method has been added",
        "A new multi-factor (MFA) method has been successfully added to your Example Shop account.",
    ),
    emails.MFA_DELETE: (
        "MFA method removed",
        "An existing multi-factor (MFA) method has been removed from your Example Shop account.",
    ),
}


def test_every_security_notification_is_a_kind_the_outbox_takes():
    assert set(NOTIFICATION_TEXTS) == emails.SECURITY_NOTIFICATION_KINDS
    assert emails.SECURITY_NOTIFICATION_KINDS <= emails.KINDS


@pytest.mark.parametrize("kind", sorted(NOTIFICATION_TEXTS))
def test_security_notifications_say_what_the_spec_says_in_english(kind):
    subject, sentence = NOTIFICATION_TEXTS[kind]

    rendered = render(kind, "en", **NOTIFICATION_CONTEXT)

    assert rendered.subject == subject
    assert rendered.text.splitlines()[0] == sentence
    assert sentence in rendered.html
    assert f"<title>{subject}</title>" in rendered.html


@pytest.mark.parametrize("language", sorted(set(DJANGO_LANGUAGES) - {"en"}))
@pytest.mark.parametrize("kind", sorted(NOTIFICATION_TEXTS))
def test_security_notifications_have_no_english_left_in_other_languages(kind, language):
    english = render(kind, "en", **NOTIFICATION_CONTEXT)
    rendered = render(kind, language, **NOTIFICATION_CONTEXT)

    assert rendered.subject != english.subject
    english_lines = {line for line in english.text.splitlines() if line.strip(" -")}
    assert english_lines.isdisjoint(rendered.text.splitlines())
    for line in english_lines:
        assert line not in rendered.html
    for key, address in NOTIFICATION_CONTEXT.items():
        if key in _variables(kind):
            assert address in rendered.text and address in rendered.html


def test_notification_addresses_are_escaped_in_html_only():
    rendered = render(emails.EMAIL_CREATE, "de", new_email="<b>x</b>@example.com")

    assert "<b>x</b>@example.com" in rendered.text
    assert "&lt;b&gt;x&lt;/b&gt;@example.com" in rendered.html


def _variables(kind: str) -> set[str]:
    return {
        emails.PRIMARY_EMAIL_UPDATE: {"old_email", "new_email"},
        emails.EMAIL_CREATE: {"new_email"},
        emails.EMAIL_DELETE: {"deleted_email"},
    }.get(kind, set())
