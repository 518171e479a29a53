"""A state's actions as the HTML forms the flow page prints: one form per action.

Each action of the rendered state (``hankoflow.renderers.hanko.render``) becomes a
``<form method="post">`` whose fields follow the declared input types, so every state, action
and input the engine serves appears without template work. ``input_data.py`` reads the posted
form back.
"""

from __future__ import annotations

import json
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
        inputs = list(action["inputs"].values())
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
            }
        )
    # ``back`` goes last: it is the way out, not the main thing to do.
    forms.sort(key=lambda form: form["is_back"])
    return forms


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
    field_id = f"{action}--{item['name']}"
    error = item.get("error")
    return {
        "name": item["name"],
        "id": field_id,
        "error_id": f"{field_id}--error",
        "label": texts.input_label(item["name"]),
        "widget": widget,
        "html_type": HTML_INPUT_TYPES[input_type],
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
        creating = flow == names.FLOW_REGISTRATION or "creation" in state_name
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
