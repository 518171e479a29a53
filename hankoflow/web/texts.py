"""What the flow page says to people: headings, sentences, button and field labels, errors.

The page renders whatever state the engine serves (``action_forms.py``). The words of states,
actions, inputs and error codes are shared with the Flow Execution dialect
(``hankoflow/wording.py``, re-exported here); this module adds the page's own: provider buttons,
third-party errors and the profile page. Every text is translatable (``hankoflow/locale/``, the
nine languages of the emails); a name nobody knows falls back to Hanko's English description, so
a new action still gets a usable button.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from hankoflow import names
from hankoflow.wording import (
    ACTION_LABELS,
    ERROR_MESSAGES,
    INPUT_LABELS,
    STATE_TEXTS,
    UNKNOWN_STATE_TEXT,
    Text,
    action_label,
    error_sentence,
    humanize,
    input_label,
    state_text,
)

__all__ = [
    "ACTION_LABELS",
    "ERROR_MESSAGES",
    "INPUT_LABELS",
    "STATE_TEXTS",
    "UNKNOWN_STATE_TEXT",
    "Text",
    "action_label",
    "error_message",
    "humanize",
    "input_label",
    "state_text",
]

# The button of one provider: (state, action) -> text with ``%(provider)s``.
PROVIDER_LABELS: dict[tuple[str, str], Text] = {
    (names.STATE_LOGIN_INIT, names.ACTION_THIRDPARTY_OAUTH): _("Sign in with %(provider)s"),
    (names.STATE_REGISTRATION_INIT, names.ACTION_THIRDPARTY_OAUTH): _("Sign up with %(provider)s"),
    (names.STATE_PROFILE_INIT, names.ACTION_CONNECT_THIRDPARTY_OAUTH_PROVIDER): _(
        "Connect %(provider)s"
    ),
}
PROVIDER_LABEL_FALLBACK: Text = _("Continue with %(provider)s")

# The ``error`` a provider's callback sends back (platform.md §9.2 step 4) -> what people read.
THIRDPARTY_ERRORS: dict[str, Text] = {
    "access_denied": _("The sign-in was cancelled or the provider refused it."),
    "user_conflict": _(
        "An account with this email address exists already. Sign in to it first, then connect "
        "the provider in your account."
    ),
    "multiple_accounts": _("The provider’s email address belongs to another account."),
    "unverified_email": _("The provider has not verified your email address."),
    "email_maxnum": _("Your account has the most email addresses it can have."),
    "signup_disabled": _("New accounts cannot be created at the moment."),
}
THIRDPARTY_ERROR_FALLBACK: Text = _("The sign-in with the provider did not work. Please try again.")


def provider_label(state: str, action: str, provider: str) -> str:
    """The button that starts ``action`` with one provider (its display name)."""
    text = PROVIDER_LABELS.get((state, action), PROVIDER_LABEL_FALLBACK)
    return str(text) % {"provider": provider}


def thirdparty_error(code: str | None) -> Text:
    """A sentence for the ``error`` a provider's callback sent back."""
    return THIRDPARTY_ERRORS.get(code or "", THIRDPARTY_ERROR_FALLBACK)


def error_message(error: dict[str, Any] | None, input_name: str = "") -> Text:
    """A sentence for a rendered error (``{"code": ..., "message": ...}``), or ``""``."""
    if not error:
        return ""
    return error_sentence(error.get("code", ""), input_name) or error.get("message", "")


# --- the profile page (``profile_page.py``) ----------------------------------------------------

# section -> (heading, what it is for).
PROFILE_SECTIONS: dict[str, tuple[Text, Text]] = {
    "username": (_("Username"), _("You can sign in with your username.")),
    "emails": (_("Email addresses"), _("We send sign-in codes and notices to these addresses.")),
    "password": (_("Password"), _("Sign in with your email address or username and a password.")),
    "passkeys": (
        _("Passkeys"),
        _("Sign in with your fingerprint, face or screen lock instead of a password."),
    ),
    "security_keys": (
        _("Security keys"),
        _("A security key confirms it is you as a second step when you sign in."),
    ),
    "authenticator_app": (
        _("Authenticator app"),
        _("An app on your phone shows a code you enter as a second step when you sign in."),
    ),
    "sessions": (_("Sessions"), _("The browsers and devices where you are signed in.")),
    "connected_accounts": (
        _("Connected accounts"),
        _("Sign in with an account you have at another service."),
    ),
    "account": (
        _("Delete account"),
        _("This deletes your account with everything in it and cannot be undone."),
    ),
    "more": (_("More"), ""),
}
# What the page says about an item or a section's state.
PROFILE_WORDS: dict[str, Text] = {
    "primary": _("Primary"),
    "verified": _("Verified"),
    "unverified": _("Unverified"),
    "current_session": _("This session"),
    "created": _("Created"),
    "last_used": _("Last used"),
    "ip_address": _("IP address"),
    "unknown_device": _("Unknown browser"),
    "passkey": _("Passkey"),
    "security_key": _("Security key"),
    "no_username": _("You have no username."),
    "has_password": _("You have a password."),
    "no_password": _("You have no password."),
    "no_emails": _("You have no email address."),
    "no_passkeys": _("You have no passkeys yet."),
    "no_security_keys": _("You have no security keys."),
    "app_set_up": _("Your authenticator app is set up."),
    "app_not_set_up": _("No authenticator app is set up."),
    "confirm_delete": _("Yes, delete my account and everything in it."),
    "reauthenticated": _("You confirmed it’s you. Please make your change again."),
    "not_confirmed_title": _("Please confirm"),
    "not_confirmed": _("Tick the box to confirm before you delete your account."),
    "signed_out_title": _("You’re not signed in"),
    "signed_out": _("Sign in to see and manage your account."),
    "profile_link": _("Your account"),
    "home": _("Home"),
    "no_identities": _("You have no connected accounts."),
    "thirdparty_lost_title": _("Sign-in not completed"),
    "thirdparty_lost": _(
        "We could not finish the sign-in with your provider in this browser. Please start again."
    ),
    "leaving_title": _("Taking you to your provider"),
    "leaving": _("If nothing happens, follow this link:"),
    "leaving_link": _("Continue to the provider"),
    "returning_title": _("One moment"),
    "returning": _("Finishing with your provider…"),
    "returning_link": _("Continue"),
}


def profile_section(key: str) -> tuple[Text, Text]:
    return PROFILE_SECTIONS[key]


def profile_word(key: str) -> Text:
    return PROFILE_WORDS[key]
