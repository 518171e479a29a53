"""``profile_init`` as an account page: the profile flow's main state, rendered for people.

The flow page renders every other state with its generic template; ``profile_init`` holds up to
22 actions on one payload (``user`` and ``sessions``, flow-api.md §4.6.1-§4.6.2), so this module
sorts them into the sections a person expects (username, email addresses, password, passkeys,
security keys, authenticator app, connected accounts, sessions, deleting the account). Sections
list the payload's items (an email with its primary and verified badges, a passkey with its
dates, a session with its browser, a connected account with its provider), and an action that
acts on one item (``action_forms.ITEM_INPUTS``) becomes a form on each item the state offers it
for. Nothing here decides what a person may do: a form
appears only when the state offers its action. ``patch_metadata`` is left out (metadata is for
the host application, not for people); an action no section claims (a new one) still appears,
under "More".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import formats

from hankoflow import names as n
from hankoflow.web import texts
from hankoflow.web.action_forms import for_item, item_list

# section -> the actions it shows as forms of its own (not per item), in this order. Per-item
# actions go to the section that lists their items (``ITEM_SECTIONS``).
SECTION_ACTIONS: dict[str, tuple[str, ...]] = {
    "username": (n.ACTION_USERNAME_CREATE, n.ACTION_USERNAME_UPDATE, n.ACTION_USERNAME_DELETE),
    "emails": (n.ACTION_EMAIL_CREATE,),
    "password": (n.ACTION_PASSWORD_CREATE, n.ACTION_PASSWORD_UPDATE, n.ACTION_PASSWORD_DELETE),
    "passkeys": (n.ACTION_WEBAUTHN_CREDENTIAL_CREATE,),
    "security_keys": (n.ACTION_SECURITY_KEY_CREATE,),
    "authenticator_app": (n.ACTION_CONTINUE_TO_OTP_SECRET_CREATION, n.ACTION_OTP_SECRET_DELETE),
    "connected_accounts": (n.ACTION_CONNECT_THIRDPARTY_OAUTH_PROVIDER,),
    "sessions": (),
    "account": (n.ACTION_ACCOUNT_DELETE,),
}
# The payload list each section shows.
ITEM_SECTIONS: dict[tuple[str, ...], str] = {
    ("user", "emails"): "emails",
    ("user", "passkeys"): "passkeys",
    ("user", "security_keys"): "security_keys",
    ("user", "identities"): "connected_accounts",
    ("sessions",): "sessions",
}
NOT_SHOWN = {n.ACTION_PATCH_METADATA}
# Actions that, in the profile flow, only complete a re-authentication: landing on
# ``profile_init`` after one means the change the person asked for is still to be made
# (``actions/profile/reauthentication.py`` replays nothing). ``verify_passcode`` also confirms
# new addresses, so it says nothing here.
REAUTHENTICATION_ACTIONS = {
    n.ACTION_PASSWORD_LOGIN,
    n.ACTION_WEBAUTHN_VERIFY_ASSERTION_RESPONSE,
    n.ACTION_OTP_CODE_VALIDATE,
}
# Buttons that take something away look like it.
DANGER_ACTIONS = {
    n.ACTION_ACCOUNT_DELETE,
    n.ACTION_EMAIL_DELETE,
    n.ACTION_OTP_SECRET_DELETE,
    n.ACTION_PASSWORD_DELETE,
    n.ACTION_SECURITY_KEY_DELETE,
    n.ACTION_USERNAME_DELETE,
    n.ACTION_WEBAUTHN_CREDENTIAL_DELETE,
    n.ACTION_SESSION_DELETE,
    n.ACTION_DISCONNECT_THIRDPARTY_OAUTH_PROVIDER,
}


@dataclass
class Item:
    """One entry of a section's list: a title, badges, a few facts and its forms."""

    id: str
    title: str
    badges: list[tuple[str, str]] = field(default_factory=list)  # (text, css modifier)
    details: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    forms: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Section:
    key: str
    heading: str
    lead: str
    status: str = ""  # a sentence about the section's state ("You have a password.")
    items: list[Item] = field(default_factory=list)
    forms: list[dict[str, Any]] = field(default_factory=list)
    empty: str = ""  # what the list says when it has no items
    visible: bool = False  # shown even with nothing in it (the feature is on)

    @property
    def shown(self) -> bool:
        return bool(self.items or self.forms or self.status or self.visible)


def profile_sections(
    state: dict[str, Any], forms: list[dict[str, Any]], posted: dict[str, str] | None = None
) -> list[Section]:
    """The sections of the account page for a rendered ``profile_init``, in page order.

    ``posted`` is the form the person just sent (field -> value): an input error of a per-item
    action belongs to the item that form named, not to every item's form.
    """
    posted = posted or {}
    payload = state.get("payload") or {}
    user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
    by_name = {form["name"]: form for form in forms if form["name"] not in NOT_SHOWN}
    sections = {key: _section(key) for key in SECTION_ACTIONS}
    claimed: set[str] = set()
    for key, actions in SECTION_ACTIONS.items():
        for action in actions:
            if action in by_name:
                sections[key].forms.append(_decorate(by_name[action], ""))
                claimed.add(action)
    for path, key in ITEM_SECTIONS.items():
        per_item = [form for form in by_name.values() if path in form["item_lists"]]
        claimed.update(form["name"] for form in per_item)
        for raw in item_list(path, payload):
            item = ITEM_BUILDERS[key](raw)
            for form in per_item:
                offered = for_item(form, raw)
                if offered is not None:
                    if posted.get(form["item_input"]) != offered["item_id"]:
                        offered = _without_errors(offered)
                    item.forms.append(_decorate(offered, item.title))
            sections[key].items.append(item)
    _describe(sections, user, payload, by_name)
    more = _section("more")
    more.forms = [_decorate(form, "") for name, form in by_name.items() if name not in claimed]
    shown = [section for section in sections.values() if section.shown]
    return [*shown, more] if more.forms else shown


def _section(key: str) -> Section:
    heading, lead = texts.profile_section(key)
    return Section(key=key, heading=str(heading), lead=str(lead))


def notice(posted: dict[str, str], state: dict[str, Any]) -> str:
    """A sentence for the top of the page after the posted step, or ``""``."""
    action = posted.get("action", "").partition("@")[0]
    if action in REAUTHENTICATION_ACTIONS and not state.get("error"):
        return str(texts.profile_word("reauthenticated"))
    return ""


def _without_errors(form: dict[str, Any]) -> dict[str, Any]:
    fields = [{**field, "error": None, "error_message": ""} for field in form["fields"]]
    return {**form, "fields": fields}


def _decorate(form: dict[str, Any], item_title: str) -> dict[str, Any]:
    """Page extras of a form: a button name that says which item it acts on, danger styling,
    the confirmation checkbox's label."""
    extra = {
        "danger": form["name"] in DANGER_ACTIONS,
        "button_name": f"{form['label']}: {item_title}" if item_title else "",
        "confirm_label": str(texts.profile_word("confirm_delete")) if form["confirm"] else "",
    }
    return {**form, **extra}


def _describe(
    sections: dict[str, Section],
    user: dict[str, Any],
    payload: dict[str, Any],
    forms: dict[str, dict[str, Any]],
) -> None:
    """The sentences that say where each section stands, and which sections show at all."""
    word = texts.profile_word
    username = user.get("username") if isinstance(user.get("username"), dict) else None
    if username:
        sections["username"].status = str(username.get("username", ""))
    elif sections["username"].forms:
        sections["username"].status = str(word("no_username"))
    if n.ACTION_PASSWORD_UPDATE in forms:
        sections["password"].status = str(word("has_password"))
    elif n.ACTION_PASSWORD_CREATE in forms:
        sections["password"].status = str(word("no_password"))
    sections["emails"].empty = str(word("no_emails"))
    sections["emails"].visible = "emails" in user
    sections["passkeys"].empty = str(word("no_passkeys"))
    sections["security_keys"].empty = str(word("no_security_keys"))
    mfa = user.get("mfa_config") if isinstance(user.get("mfa_config"), dict) else {}
    sections["security_keys"].visible = bool(mfa.get("security_keys_enabled"))
    if mfa.get("totp_enabled") or mfa.get("auth_app_set_up"):
        set_up = mfa.get("auth_app_set_up")
        sections["authenticator_app"].status = str(
            word("app_set_up") if set_up else word("app_not_set_up")
        )
    sections["sessions"].visible = "sessions" in payload
    sections["connected_accounts"].empty = str(word("no_identities"))


def _email(raw: dict[str, Any]) -> Item:
    word = texts.profile_word
    badges = []
    if raw.get("is_primary"):
        badges.append((str(word("primary")), "primary"))
    if raw.get("is_verified"):
        badges.append((str(word("verified")), "ok"))
    else:
        badges.append((str(word("unverified")), "warning"))
    return Item(id=str(raw.get("id", "")), title=str(raw.get("address", "")), badges=badges)


def _credential(fallback: str):
    def build(raw: dict[str, Any]) -> Item:
        word = texts.profile_word
        details = [(str(word("created")), _when(raw.get("created_at")))]
        if raw.get("last_used_at"):
            details.append((str(word("last_used")), _when(raw.get("last_used_at"))))
        title = str(raw.get("name") or word(fallback))
        return Item(id=str(raw.get("id", "")), title=title, details=details)

    return build


def _session(raw: dict[str, Any]) -> Item:
    word = texts.profile_word
    badges = [(str(word("current_session")), "primary")] if raw.get("current") else []
    details = []
    if raw.get("ip_address"):
        details.append((str(word("ip_address")), str(raw["ip_address"])))
    details.append((str(word("last_used")), _when(raw.get("last_used"))))
    details.append((str(word("created")), _when(raw.get("created_at"))))
    title = str(raw.get("user_agent") or word("unknown_device"))
    return Item(id=str(raw.get("id", "")), title=title, badges=badges, details=details)


def _identity(raw: dict[str, Any]) -> Item:
    """A connected account: the provider's name (the provider's user id means nothing to
    people)."""
    return Item(id=str(raw.get("identity_id", "")), title=str(raw.get("provider", "")))


ITEM_BUILDERS = {
    "emails": _email,
    "passkeys": _credential("passkey"),
    "security_keys": _credential("security_key"),
    "sessions": _session,
    "connected_accounts": _identity,
}


def _when(value: Any) -> str:
    """An RFC 3339 time of the payload in the page's language; as sent when it is not one."""
    if not isinstance(value, str):
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return formats.date_format(moment, "SHORT_DATETIME_FORMAT")
