"""The emails hankoflow sends: their kinds, their languages and their templates (platform.md §7).

A kind is a template name and Hanko's webhook ``type``. ``render()`` turns a kind and its
template variables into a subject, a plain text and an HTML body; ``build_message()`` makes that
a Django message for the project's ``EMAIL_BACKEND``. The adapter's ``send_mail``
(hankoflow/adapter.py) sends it by default; the outbox (hankoflow/services/mail/) decides when.

Templates (``hankoflow/email/<kind>_subject.txt``, ``<kind>.txt``, ``<kind>.html``, sharing
``hankoflow/email/base.html``) are rendered with Django's template engine in the language of the
email. A host project changes the wording or layout by putting templates with the same names in
a directory listed earlier in ``TEMPLATES[...]["DIRS"]`` (app templates come after ``DIRS``), and
changes a translation by putting its own catalogue in ``LOCALE_PATHS``. The sender is
``EMAIL_DELIVERY.FROM_NAME <EMAIL_DELIVERY.FROM_ADDRESS>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formataddr
from typing import Any

from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.utils import translation

from hankoflow.conf import settings

# Kinds (= template names, = Hanko's webhook ``type``), platform.md §7.1.
LOGIN = "login"
EMAIL_VERIFICATION = "email_verification"
RECOVERY = "recovery"
EMAIL_LOGIN_ATTEMPTED = "email_login_attempted"
EMAIL_REGISTRATION_ATTEMPTED = "email_registration_attempted"
# Security notifications (platform.md §7.4), sent by hankoflow.services.notifications. Their
# template variables: primary_email_update ``old_email``, ``new_email``; email_create
# ``new_email``; email_delete ``deleted_email``; the others only ``service_name``.
PASSWORD_UPDATE = "password_update"  # noqa: S105  (a template name)
PRIMARY_EMAIL_UPDATE = "primary_email_update"
EMAIL_CREATE = "email_create"
EMAIL_DELETE = "email_delete"
PASSKEY_CREATE = "passkey_create"
MFA_CREATE = "mfa_create"
MFA_DELETE = "mfa_delete"
SECURITY_NOTIFICATION_KINDS = frozenset(
    {
        PASSWORD_UPDATE,
        PRIMARY_EMAIL_UPDATE,
        EMAIL_CREATE,
        EMAIL_DELETE,
        PASSKEY_CREATE,
        MFA_CREATE,
        MFA_DELETE,
    }
)
# ``manage.py hankoflow_send_test_email``; hankoflow's own, Hanko has no such email.
TEST = "test"
# Not in Hanko (issue 15): staff invite a person (hankoflow.services.invitations). Its secret
# holds ``code`` and, when INVITATIONS.URL is set, ``link``; its lifetime is ``ttl_days``,
# ``ttl_hours`` or ``ttl_minutes``, the first one given.
INVITATION = "invitation"
CODE_KINDS = frozenset({LOGIN, EMAIL_VERIFICATION, RECOVERY, INVITATION})
# Sent instead of a code when the account does not exist (or already does, at sign-up).
NOTICE_KINDS = frozenset({EMAIL_LOGIN_ATTEMPTED, EMAIL_REGISTRATION_ATTEMPTED})
KINDS = CODE_KINDS | NOTICE_KINDS | SECURITY_NOTIFICATION_KINDS | {TEST}

# X-Language values Hanko has templates for (platform.md §7.3) -> Django language codes.
LANGUAGES = {
    "bn": "bn",
    "de": "de",
    "en": "en",
    "fr": "fr",
    "it": "it",
    "nl": "nl",
    "pl": "pl",
    "pt-BR": "pt-br",
    "zh-CN": "zh-hans",
}
DEFAULT_LANGUAGE = "en"
_BY_PRIMARY_SUBTAG = {code.split("-")[0].lower(): django for code, django in LANGUAGES.items()}
_TRADITIONAL_CHINESE = {"hant", "tw", "hk", "mo"}

# Django's SMTP backend waits forever without EMAIL_TIMEOUT; a hung server must not hold the
# sender (and the outbox row's lock) for ever.
SMTP_TIMEOUT = 30


class UndeliverableEmail(Exception):
    """Raised by a ``send_mail`` that knows retrying will not help (e.g. the mail service
    rejected the address): the email is marked failed at once instead of retried."""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def language_for(x_language: str) -> str:
    """The Django language code of the email templates that best fit an ``X-Language`` value.

    Accepts a tag (``de-AT``, ``pt_BR``, ``zh-Hans``, also our own ``pt-br``) or an
    Accept-Language list (``fr-CH, fr;q=0.9, en;q=0.8``). Empty, ``undefined`` or unknown -> ``en``.

    Hanko: matches with Go's BCP-47 matcher; we match the primary subtag, take ``pt`` as
    ``pt-BR`` and plain/Simplified Chinese as ``zh-CN``, and give Traditional Chinese
    (``zh-TW``, ``zh-Hant``, ...) English, as that matcher does for a script mismatch.
    """
    for tag in _ranked_tags(x_language or ""):
        parts = tag.replace("_", "-").lower().split("-")
        if parts[0] == "zh" and _TRADITIONAL_CHINESE.intersection(parts[1:]):
            continue
        if parts[0] in _BY_PRIMARY_SUBTAG:
            return _BY_PRIMARY_SUBTAG[parts[0]]
    return DEFAULT_LANGUAGE


def _ranked_tags(value: str) -> list[str]:
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(value.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


def render(kind: str, *, language: str, context: dict[str, Any]) -> RenderedEmail:
    """Render the subject, text and HTML of ``kind`` in ``language`` (a Django language code)."""
    if kind not in KINDS:
        raise ValueError(f"unknown email kind {kind!r}")
    values = {"service_name": settings.SERVICE.NAME, **context, "language": language}
    with translation.override(language):
        # One line, whatever the template holds: a header cannot take a line break.
        subject = " ".join(render_to_string(f"hankoflow/email/{kind}_subject.txt", values).split())
        values["subject"] = subject
        text = render_to_string(f"hankoflow/email/{kind}.txt", values).strip() + "\n"
        html = render_to_string(f"hankoflow/email/{kind}.html", values)
    return RenderedEmail(subject=subject, text=text, html=html)


def build_message(kind: str, *, to: str, context: dict[str, Any]) -> EmailMultiAlternatives:
    """The email of ``kind`` to ``to``, rendered in ``context["language"]``, on a connection of
    the project's ``EMAIL_BACKEND``; ``.send()`` sends it."""
    language = context.get("language") or DEFAULT_LANGUAGE
    rendered = render(kind, language=language, context=context)
    delivery = settings.EMAIL_DELIVERY
    connection = get_connection()
    if getattr(connection, "timeout", False) is None:
        connection.timeout = SMTP_TIMEOUT
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=formataddr((delivery.FROM_NAME, delivery.FROM_ADDRESS)),
        to=[to],
        headers={"Auto-Submitted": "auto-generated", "Content-Language": language},
        connection=connection,
    )
    if message_id := context.get("message_id"):
        message.extra_headers["Message-ID"] = message_id  # the same for each copy of one email
    message.attach_alternative(rendered.html, "text/html")
    return message
