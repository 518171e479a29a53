"""A posted flow-page form read back into the action's ``input_data``, with JSON types.

``action_forms.py`` prints the forms; these are the names of the fields the page itself adds to
each of them (``_hidden_fields.html``), which flow inputs never use (none of Hanko's do).
"""

from __future__ import annotations

import json
from typing import Any

from django.http import QueryDict

from hankoflow.web.next_url import FIELD_NEXT

FIELD_FLOW = "flow"
FIELD_ACTION = "action"
FIELD_CSRF = "csrf_token"
FIELD_BOOLEANS = "boolean_inputs"
FIELD_JSONS = "json_inputs"
FIELD_CONFIRM = "confirm"  # the "I am sure" checkbox of an action that cannot be undone
RESERVED_FIELDS = {FIELD_FLOW, FIELD_ACTION, FIELD_CSRF, FIELD_BOOLEANS, FIELD_JSONS, FIELD_CONFIRM}
RESERVED_FIELDS.add("csrfmiddlewaretoken")  # Django's own {% csrf_token %}
RESERVED_FIELDS.add(FIELD_NEXT)  # where to go after success (next_url.py)

TRUE_VALUES = {"on", "true", "1", "yes"}


def form_input_data(form: QueryDict) -> dict[str, Any]:
    """Turn the posted form into the action's ``input_data`` with JSON types.

    HTML forms only send strings, so the page must say which fields are not strings. The state
    template writes the names of the action's ``boolean`` inputs into hidden ``boolean_inputs``
    fields and those of its ``json`` inputs into ``json_inputs``. Booleans become ``True`` for a
    ticked checkbox ("on") or a hidden "true", and ``False`` when absent (an unticked checkbox
    is not sent at all); json fields are parsed with ``json.loads`` and fall back to the raw
    text; everything else stays a string (the engine accepts numeric strings for ``number``).

    Trusting the client with these type hints is deliberate and safe: nothing is stored
    client-side, a client of the JSON API can send any JSON type for any input anyway, and the
    engine validates every value against the action's declared inputs. A forged hint can only
    produce a request the JSON API would accept just as well.
    """
    booleans = {name for name in form.getlist(FIELD_BOOLEANS) if name not in RESERVED_FIELDS}
    jsons = {name for name in form.getlist(FIELD_JSONS) if name not in RESERVED_FIELDS}
    data: dict[str, Any] = {
        name: form.get(name, "").strip().lower() in TRUE_VALUES for name in booleans
    }
    for name, value in form.items():  # the last value of a repeated field, like a browser
        if name in RESERVED_FIELDS or name in booleans:
            continue
        data[name] = _parse_json(value) if name in jsons else value
    return data


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
