"""A state's actions as the HTML forms the flow page prints: one form per action.

Each action of the rendered state (``hankoflow.renderers.hanko.render``) becomes a
``<form method="post">`` whose fields follow the declared input types, so every state, action
and input the engine serves appears without template work. ``input_data.py`` reads the posted
form back.

An action whose hidden input names one item of a list in the payload (``email_id`` an email of
``user.emails``, ``session_id`` one of ``sessions``: ``ITEM_INPUTS``) is not a form with a
free-text id: ``for_item`` makes it one form per item it applies to, with the id filled in.
Which items it applies to is the state's word: the input's ``allowed_values`` when it has them,
else every item that passes the action's ``ITEM_CONDITIONS`` (what Hanko's element checks).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hankoflow import names
from hankoflow.conf import settings
from hankoflow.engine import Back
from hankoflow.web import texts
from hankoflow.web.webauthn import WEBAUTHN_RESPONSE_ACTIONS, script_filled

BACK_ACTION = Back.name

# Flow input type -> HTML widget. ``json`` is a <textarea>, ``boolean`` a checkbox.
HTML_INPUT_TYPES = {
    "string": "text",
    "email": "email",
    "password": "password",
    "number": "number",
    "boolean": "checkbox",
    "json": "textarea",
}
TEXT_LIKE_TYPES = {"string", "email", "password"}
# Inputs that take a code: the phone shows digits, the browser offers the code from an SMS or
# a password manager.
CODE_INPUTS = {"code", "otp_code", "passcode"}
# Inputs that hold a password whatever their declared type (Hanko declares the profile's
# ``password`` a ``string``): a password field, never echoed as text.
PASSWORD_INPUTS = {"password", "new_password"}

# Hidden inputs that name one item of a payload list: input -> (the list's path in the payload,
# the item's key that the input takes).
ITEM_INPUTS: dict[str, tuple[tuple[str, ...], str]] = {
    "email_id": (("user", "emails"), "id"),
    "passkey_id": (("user", "passkeys"), "id"),
    "security_key_id": (("user", "security_keys"), "id"),
    "session_id": (("sessions",), "id"),
    "identity_id": (("user", "identities"), "identity_id"),
}
# Inputs an action reads without declaring them (Hanko's element sends them all the same):
# the page adds them to the action's form.
UNDECLARED_INPUTS: dict[str, tuple[dict[str, Any], ...]] = {
    names.ACTION_DISCONNECT_THIRDPARTY_OAUTH_PROVIDER: (
        {"name": "identity_id", "type": "string", "required": True, "hidden": True},
    ),
}
# Actions that send the browser to a provider: one submit button per allowed value of their
# ``provider`` input ("Sign in with GitHub"); ``web/thirdparty.py`` fills in the rest.
PROVIDER_ACTIONS = {names.ACTION_THIRDPARTY_OAUTH, names.ACTION_CONNECT_THIRDPARTY_OAUTH_PROVIDER}
PROVIDER_INPUT = "provider"
# Actions whose item input names items of more lists than the input's own: Hanko's element
# renames security keys with ``webauthn_credential_rename`` too (deleting them has its own
# action, with the second-factor rules).
ITEM_ACTION_LISTS: dict[str, tuple[tuple[str, ...], ...]] = {
    names.ACTION_WEBAUTHN_CREDENTIAL_RENAME: (("user", "passkeys"), ("user", "security_keys")),
}
# Per-item rules of actions whose input lists no allowed values: the item's own facts decide
# (as in Hanko's element: "set as primary" on a verified other address, "verify" on an
# unverified one).
ITEM_CONDITIONS: dict[str, Callable[[dict[str, Any]], bool]] = {
    names.ACTION_EMAIL_SET_PRIMARY: lambda email: bool(
        email.get("is_verified") and not email.get("is_primary")
    ),
    names.ACTION_EMAIL_VERIFY: lambda email: not email.get("is_verified"),
}
# Actions whose item input lists every item it accepts; no list means no item (Hanko omits an
# empty ``allowed_values``, flow-api.md §4.3.2 #4).
ALLOWED_VALUES_ONLY = {names.ACTION_EMAIL_DELETE, names.ACTION_SESSION_DELETE}
# Other inputs of a per-item form that start with the item's value: input -> item key.
ITEM_FIELD_VALUES = {"passkey_name": "name"}
# Actions that cannot be undone: their form has a checkbox the person ticks first
# (``input_data.FIELD_CONFIRM``), checked again by the page before the action runs.
CONFIRMED_ACTIONS = {names.ACTION_ACCOUNT_DELETE}


def action_param(href: str) -> str:
    """``/login?action=remember_me%40<id>`` -> ``remember_me@<id>`` (flow-api.md §1.2)."""
    values = parse_qs(urlsplit(href).query).get("action")
    return values[0] if values else ""


def action_forms(
    flow: str, state: dict[str, Any], webauthn: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """What the template needs per action: its form fields, ready to print."""
    autofill = webauthn is not None and webauthn["ceremony"] == "conditional"
    forms = []
    for name, action in state["actions"].items():
        inputs = [*action["inputs"].values(), *UNDECLARED_INPUTS.get(name, ())]
        choices = _provider_choices(state["name"], name, inputs)
        if choices:
            inputs = [i for i in inputs if i["name"] != PROVIDER_INPUT]
        item_input = next((i for i in inputs if i["name"] in ITEM_INPUTS and i.get("hidden")), None)
        forms.append(
            {
                "name": name,
                "param": action_param(action["href"]),
                "label": texts.action_label(state["name"], name, action.get("description", "")),
                "is_back": name == BACK_ACTION,
                # Only webauthn.js can fill these; without it they are of no use to anyone.
                "script_only": name in WEBAUTHN_RESPONSE_ACTIONS,
                "fields": [
                    _field(flow, state["name"], name, item, autofill=autofill) for item in inputs
                ],
                "boolean_names": [i["name"] for i in inputs if i["type"] == "boolean"],
                "json_names": [i["name"] for i in inputs if i["type"] == "json"],
                "item_input": item_input["name"] if item_input else None,
                "item_lists": _item_lists(name, item_input),
                "item_allowed": _allowed(item_input) if item_input else None,
                "confirm": name in CONFIRMED_ACTIONS,
                "choice_input": PROVIDER_INPUT if choices else "",
                "choices": choices,
            }
        )
    # ``back`` goes last: it is the way out, not the main thing to do.
    forms.sort(key=lambda form: form["is_back"])
    return forms


def _provider_choices(
    state_name: str, action: str, inputs: list[dict[str, Any]]
) -> list[dict[str, str]]:
    """The buttons of a provider action: ``{value, label}`` per provider, or ``[]``."""
    if action not in PROVIDER_ACTIONS:
        return []
    provider = next((i for i in inputs if i["name"] == PROVIDER_INPUT), None)
    allowed = (provider or {}).get("allowed_values") or ()
    return [
        {
            "value": _as_form_text(value["value"]),
            "label": str(
                texts.provider_label(state_name, action, str(value.get("name") or value["value"]))
            ),
        }
        for value in allowed
    ]


def _item_lists(action: str, item_input: dict[str, Any] | None) -> tuple[tuple[str, ...], ...]:
    if item_input is None:
        return ()
    return ITEM_ACTION_LISTS.get(action) or (ITEM_INPUTS[item_input["name"]][0],)


def _allowed(item: dict[str, Any]) -> list[str] | None:
    values = item.get("allowed_values")
    return [str(allowed["value"]) for allowed in values] if values else None


def item_list(path: tuple[str, ...], payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The items of the payload list at ``path`` (``[]`` when absent or not a list)."""
    found: Any = payload
    for key in path:
        found = found.get(key) if isinstance(found, dict) else None
    return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []


def for_item(form: dict[str, Any], item: dict[str, Any]) -> dict[str, Any] | None:
    """``form`` for one item of its list, its id filled in; None when the state does not offer
    the action for that item."""
    item_input = form["item_input"]
    item_id = str(item.get(ITEM_INPUTS[item_input][1], ""))
    allowed = form["item_allowed"]
    if allowed is not None:
        if item_id not in allowed:
            return None
    elif form["name"] in ALLOWED_VALUES_ONLY:
        return None
    condition = ITEM_CONDITIONS.get(form["name"])
    if condition is not None and not condition(item):
        return None
    fields = []
    for field in form["fields"]:
        field = {
            **field,
            "id": f"{field['id']}--{item_id}",
            "error_id": f"{field['error_id']}--{item_id}",
        }
        if field["name"] == item_input:
            field.update(widget="hidden", value=item_id)
        elif field["name"] in ITEM_FIELD_VALUES and not field["has_value"]:
            field["value"] = _as_form_text(item.get(ITEM_FIELD_VALUES[field["name"]]))
        fields.append(field)
    return {**form, "fields": fields, "item_id": item_id}


def _field(
    flow: str, state_name: str, action: str, item: dict[str, Any], *, autofill: bool = False
) -> dict[str, Any]:
    input_type = item["type"]
    value = item.get("value")
    if item.get("hidden") or script_filled(action, item["name"]):
        widget = "hidden"
        if value is None and input_type == "boolean":
            value = False  # what a browser without JavaScript reports (preflight)
    elif item.get("allowed_values"):
        widget = "select"
    elif input_type == "boolean":
        widget = "checkbox"
    elif input_type == "json":
        widget = "textarea"
    else:
        widget = "input"
    text_like = input_type in TEXT_LIKE_TYPES
    html_type = HTML_INPUT_TYPES[input_type]
    if item["name"] in PASSWORD_INPUTS and input_type == "string":
        input_type = html_type = "password"
    field_id = f"{action}--{item['name']}"
    error = item.get("error")
    return {
        "name": item["name"],
        "id": field_id,
        "error_id": f"{field_id}--error",
        "label": texts.input_label(item["name"], state_name),
        "widget": widget,
        "html_type": html_type,
        "input_type": input_type,
        # A checkbox is never ``required`` in HTML: unticked means ``false``, which Hanko
        # accepts for a required boolean (booleans are not validated, flow-api.md §2.5).
        "required": bool(item.get("required")) and widget not in ("checkbox", "hidden"),
        "min_length": item.get("min_length") if text_like else None,
        "max_length": item.get("max_length") if text_like else None,
        "value": _as_form_text(value),
        "checked": value is True,
        "options": [
            {
                "value": _as_form_text(allowed["value"]),
                "label": allowed.get("name") or _as_form_text(allowed["value"]),
                "selected": value is not None and allowed["value"] == value,
            }
            for allowed in item.get("allowed_values") or ()
        ],
        "has_value": value is not None,
        "autocomplete": _autocomplete(flow, state_name, item["name"], input_type, autofill),
        "inputmode": _inputmode(item["name"], input_type),
        "error": error,
        "error_message": texts.error_message(error, item["name"]),
    }


def _as_form_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _autocomplete(
    flow: str, state_name: str, name: str, input_type: str, autofill: bool = False
) -> str:
    """A hint for password managers; ``off`` when nothing fits.

    With passkey autofill on offer (``login_init`` with ``request_options``) the identifier
    field also says ``webauthn``: browsers list passkeys only under such a field.
    """
    if input_type == "password":
        # The profile sets or changes a password; it never asks for the current one.
        creating = flow in (names.FLOW_REGISTRATION, names.FLOW_PROFILE) or "creation" in state_name
        return "new-password" if creating else "current-password"
    if autofill and (input_type == "email" or name in ("email", "username", "identifier")):
        return "username webauthn"
    if input_type == "email" or name == "email":
        return "email"
    if name in ("username", "identifier"):
        return "username"
    if name in CODE_INPUTS:
        return "one-time-code"
    return "off"


def _inputmode(name: str, input_type: str) -> str:
    """The on-screen keyboard to show: digits for codes and numbers, else the type's own."""
    if name == "otp_code" or (name in CODE_INPUTS and settings.EMAIL.PASSCODE_CHARSET == "numeric"):
        return "numeric"
    if input_type == "number":
        return "decimal"
    return ""
