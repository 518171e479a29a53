"""HTML views: a generic page for any flow state, and Hanko's own web components.

The flow page is a plain HTML client of the engine. It renders the state object the JSON API
sends (``hankoflow.renderers.hanko.render``), so every state, action and input the engine
serves appears without template work: each action is a ``<form method="post">`` whose fields
follow the declared input types. A POST goes through ``runner.run`` exactly like a JSON
request would, and the answer's status code and effects (cookies, headers) are kept.

Two kinds of token protect a POST: Django's CSRF token (the page is same-origin HTML, so
``CsrfViewMiddleware`` stays on) and the flow's own ``csrf_token``, checked by the engine.

JavaScript, only for WebAuthn
-----------------------------
Everything works without JavaScript except what needs the browser's WebAuthn API. For that the
page loads one small static script, ``hankoflow/static/hankoflow/webauthn.js`` (no build step,
served by ``webauthn_script`` below), on the states that need it, and nowhere else. There is no
inline script or style anywhere, so the page's Content-Security-Policy allows only files from this
origin (``headers.py``):

* ``preflight``: the page renders the state like any other, as the ``register_client_capabilities``
  form whose three booleans are hidden fields preset to ``false``. The script asks the browser
  (``window.PublicKeyCredential``, ``isUserVerifyingPlatformAuthenticatorAvailable()``,
  ``isConditionalMediationAvailable()``), fills in the answers and submits the form, the
  auto-step hanko-elements takes (flow-api.md §1.11). Without JavaScript a ``<noscript>`` meta
  refresh loads ``?flow=<name>&nojs=1``, which starts a fresh flow and takes that step on the
  server with all three ``false`` (``AUTO_STEPS``; the abandoned preflight flow just expires).
  The form's visible Continue button, posting the ``false`` values, is the last resort for a
  browser that neither runs scripts nor follows meta refreshes. Reporting ``false`` hides every
  WebAuthn action, which is exactly right for a browser that cannot run them.
* A state whose payload has ``creation_options`` and that offers
  ``webauthn_verify_attestation_response`` (``onboarding_verify_passkey_attestation``): the script
  calls ``navigator.credentials.create()``, puts the credential, serialised like
  ``@github/webauthn-json`` (client-contract.md §7), into the hidden ``public_key`` field and
  submits that form. On any WebAuthn error it submits ``back`` instead, as Hanko's SDK does,
  with the error's name in the query string (``?webauthn_error=NotAllowedError``) so the page
  it lands on can say what happened.
* A state whose payload has ``request_options`` and that offers
  ``webauthn_verify_assertion_response``: ``login_passkey`` gets ``navigator.credentials.get()``
  and ``assertion_response`` the same way (``back`` on error); ``login_init`` starts a
  conditional (autofill) request instead, marks the identifier field
  ``autocomplete="username webauthn"`` and submits only when the person picks a passkey.

The options travel in a ``<script type="application/json" id="webauthn-options">`` block
(``webauthn_config``), so the script holds no flow knowledge beyond Hanko's input names. The
response forms are ``hidden``: only the script can fill them. A state that comes back with an
error does not start a ceremony by itself (no loops); it shows a button to try again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings as django_settings
from django.http import FileResponse, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import NoReverseMatch, get_script_prefix, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import condition, require_http_methods

from hankoflow.conf import settings
from hankoflow.engine import FlowResult
from hankoflow.flows import names
from hankoflow.flows.registry import FLOWS
from hankoflow.http import runner
from hankoflow.renderers import hanko
from hankoflow.web.headers import ELEMENTS_PAGE_POLICY, FLOW_PAGE_POLICY, with_policy

# The flows a person can start from the home page: (flow name, link text).
START_LINKS = ((names.FLOW_LOGIN, "Sign in"), (names.FLOW_REGISTRATION, "Sign up"))

# Steps the page takes on the server for a browser without JavaScript (``?flow=<name>&nojs=1``):
# it cannot run WebAuthn, so it reports exactly that. With JavaScript, webauthn.js takes this
# step in the browser with the real capabilities.
AUTO_STEPS: dict[str, tuple[str, dict[str, Any]]] = {
    names.STATE_PREFLIGHT: (
        names.ACTION_REGISTER_CLIENT_CAPABILITIES,
        {
            names.STASH_WEBAUTHN_AVAILABLE: False,
            names.STASH_WEBAUTHN_CONDITIONAL_MEDIATION_AVAILABLE: False,
            names.STASH_WEBAUTHN_PLATFORM_AUTHENTICATOR_AVAILABLE: False,
        },
    ),
}
MAX_AUTO_STEPS = 5  # a guard against a flow that keeps coming back to an auto-step state

TERMINAL_STATES = {names.STATE_SUCCESS, names.STATE_ERROR}
BACK_ACTION = "back"

# Query parameters: ``nojs=1`` asks for the server-side auto-steps (the no-JavaScript fallback of
# ``preflight``); ``webauthn_error`` is the DOMException name webauthn.js reports when it had to
# give up on a ceremony and go ``back``.
PARAM_NO_JS = "nojs"
PARAM_WEBAUTHN_ERROR = "webauthn_error"

# Actions whose inputs only webauthn.js can fill: action -> the input it fills (None: all of
# them). Their fields are hidden; the response forms are hidden as a whole.
SCRIPT_FILLED_INPUTS: dict[str, str | None] = {
    names.ACTION_REGISTER_CLIENT_CAPABILITIES: None,
    names.ACTION_WEBAUTHN_VERIFY_ATTESTATION_RESPONSE: "public_key",
    names.ACTION_WEBAUTHN_VERIFY_ASSERTION_RESPONSE: "assertion_response",
}
WEBAUTHN_RESPONSE_ACTIONS = {
    names.ACTION_WEBAUTHN_VERIFY_ATTESTATION_RESPONSE,
    names.ACTION_WEBAUTHN_VERIFY_ASSERTION_RESPONSE,
}
# Button texts where Hanko's action description reads oddly on a button: (state, action) first,
# then the action alone; everything else uses the description.
BUTTON_LABELS: dict[str | tuple[str, str], str] = {
    names.ACTION_REGISTER_CLIENT_CAPABILITIES: "Continue",
    names.ACTION_WEBAUTHN_GENERATE_REQUEST_OPTIONS: "Sign in with a passkey",
    names.ACTION_WEBAUTHN_GENERATE_CREATION_OPTIONS: "Create a passkey",
    (names.STATE_LOGIN_SECURITY_KEY, names.ACTION_WEBAUTHN_GENERATE_REQUEST_OPTIONS): (
        "Use a security key"
    ),
    (names.STATE_MFA_SECURITY_KEY_CREATION, names.ACTION_WEBAUTHN_GENERATE_CREATION_OPTIONS): (
        "Register a security key"
    ),
}

# What the page says after webauthn.js gave up (DOMException names, WebAuthn §6.3.2/§6.3.3).
WEBAUTHN_ERRORS = {
    "NotAllowedError": "The passkey prompt was cancelled or timed out.",
    "InvalidStateError": "This device already holds a passkey for your account.",
    "NotSupportedError": "This browser or authenticator does not support what was asked.",
    "SecurityError": "The browser refused: this page's address does not match the server's "
    "WebAuthn settings (relying party ID or origin).",
    "AbortError": "The passkey prompt was interrupted.",
}
WEBAUTHN_ERROR_DEFAULT = "The browser could not complete the passkey step."

# The pages' files, served by the views at the end of this module (no inline script or style:
# the pages' Content-Security-Policy forbids them, see headers.py).
STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "hankoflow"
WEBAUTHN_SCRIPT = STATIC_DIR / "webauthn.js"
ELEMENTS_SCRIPT = STATIC_DIR / "elements-page.js"
STYLESHEET = STATIC_DIR / "page.css"

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

# Form fields the page itself posts; flow inputs never use these names (none of Hanko's do).
FIELD_FLOW = "flow"
FIELD_ACTION = "action"
FIELD_CSRF = "csrf_token"
FIELD_BOOLEANS = "boolean_inputs"
FIELD_JSONS = "json_inputs"
RESERVED_FIELDS = {FIELD_FLOW, FIELD_ACTION, FIELD_CSRF, FIELD_BOOLEANS, FIELD_JSONS}
RESERVED_FIELDS.add("csrfmiddlewaretoken")  # Django's own {% csrf_token %}

TRUE_VALUES = {"on", "true", "1", "yes"}

ELEMENTS_BUNDLE = Path("node_modules/@teamhanko/hanko-elements/dist/elements.js")


# --- the flow page ------------------------------------------------------------------------------


@with_policy(FLOW_PAGE_POLICY)
@never_cache  # the page carries the flow's token: never store it
@require_http_methods(["GET", "POST"])
def flow_page(request: HttpRequest) -> HttpResponse:
    """``GET /``: links to the flows; ``GET /?flow=<name>``: start it; ``POST /``: one action."""
    if request.method == "POST":
        return _post_action(request)
    flow = request.GET.get(FIELD_FLOW, "")
    if not flow:
        return render(request, "hankoflow/web/home.html", {"start_links": START_LINKS})
    if flow not in FLOWS:
        return _unknown_flow(request, flow)
    result = runner.run(request, flow, None)
    if request.GET.get(PARAM_NO_JS) == "1":
        result, effects = _with_auto_steps(request, flow, result)
    else:
        effects = list(result.effects)
    return _state_response(request, flow, result, effects)


def _post_action(request: HttpRequest) -> HttpResponse:
    flow = request.POST.get(FIELD_FLOW, "")
    if flow not in FLOWS:
        return _unknown_flow(request, flow)
    action = request.POST.get(FIELD_ACTION, "")
    if not action:
        return _message(
            request,
            400,
            "Nothing to do",
            "The form did not name an action. Start the flow again.",
            flow=flow,
        )
    if any("\x00" in name + "".join(values) for name, values in request.POST.lists()):
        # As the JSON API's strict body parsing: PostgreSQL cannot store NUL (issue 8).
        return _message(request, 400, "Invalid form", "The form held a NUL character.", flow=flow)
    result = runner.run(
        request, flow, action, form_input_data(request.POST), request.POST.get(FIELD_CSRF, "")
    )
    return _state_response(request, flow, result, result.effects)


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


def _with_auto_steps(
    request: HttpRequest, flow: str, result: FlowResult
) -> tuple[FlowResult, list[Any]]:
    """Run the ``AUTO_STEPS`` of each state reached; returns the last result and all effects."""
    effects = list(result.effects)
    for _ in range(MAX_AUTO_STEPS):
        step = AUTO_STEPS.get(result.state)
        if step is None:
            break
        action_name, input_data = step
        action = hanko.render(result)["actions"].get(action_name)
        if action is None:
            break
        result = runner.run(
            request, flow, action_param(action["href"]), dict(input_data), result.csrf_token
        )
        effects.extend(result.effects)
        if result.error is not None:
            break  # show the state and its error rather than retrying
    return result, effects


def action_param(href: str) -> str:
    """``/login?action=remember_me%40<id>`` -> ``remember_me@<id>`` (flow-api.md §1.2)."""
    values = parse_qs(urlsplit(href).query).get("action")
    return values[0] if values else ""


def _state_response(
    request: HttpRequest, flow: str, result: FlowResult, effects: Iterable[Any]
) -> HttpResponse:
    state = hanko.render(result, debug=settings.DEBUG)
    webauthn = webauthn_config(state)
    context = {
        "flow": flow,
        "state": state,
        "is_terminal": state["name"] in TERMINAL_STATES,
        "is_success": state["name"] == names.STATE_SUCCESS,
        "actions": _action_views(flow, state, webauthn),
        "state_json": json.dumps(state, indent=2, ensure_ascii=False),
        "webauthn": webauthn,
        "webauthn_error": _webauthn_error(request),
        "no_js_url": f"?{urlencode({FIELD_FLOW: flow, PARAM_NO_JS: '1'})}",
    }
    # The HTTP status mirrors the state's, as on the JSON API (a 403 error state is a 403 page).
    response = render(request, "hankoflow/web/state.html", context, status=state["status"])
    for effect in effects:
        effect.apply_to(response)
    return response


def webauthn_config(state: dict[str, Any]) -> dict[str, Any] | None:
    """What webauthn.js should do on this state, or None when the page needs no script.

    ``ceremony`` is ``capabilities`` (preflight), ``create``, ``get`` or ``conditional``;
    ``action`` and ``field`` name the form and the input the result goes into; ``options`` is
    the payload's ``{"publicKey": {...}}``; ``auto`` says whether to start right away.
    """
    actions = state.get("actions") or {}
    payload = state.get("payload") or {}
    if (
        state["name"] == names.STATE_PREFLIGHT
        and names.ACTION_REGISTER_CLIENT_CAPABILITIES in actions
    ):
        return {
            "ceremony": "capabilities",
            "action": names.ACTION_REGISTER_CLIENT_CAPABILITIES,
            "auto": True,
        }
    if isinstance(payload.get("creation_options"), dict):
        ceremony, options = "create", payload["creation_options"]
        action = names.ACTION_WEBAUTHN_VERIFY_ATTESTATION_RESPONSE
    elif isinstance(payload.get("request_options"), dict):
        # On login_init the options are for passkey autofill (flow-api.md §1.11).
        ceremony = "conditional" if state["name"] == names.STATE_LOGIN_INIT else "get"
        options = payload["request_options"]
        action = names.ACTION_WEBAUTHN_VERIFY_ASSERTION_RESPONSE
    else:
        return None
    if action not in actions:
        return None
    return {
        "ceremony": ceremony,
        "action": action,
        "field": SCRIPT_FILLED_INPUTS[action],
        "options": options,
        # After a failed attempt the person starts the next one (no prompt loops).
        "auto": ceremony == "conditional" or not state.get("error"),
    }


def _webauthn_error(request: HttpRequest) -> str:
    name = request.GET.get(PARAM_WEBAUTHN_ERROR, "")
    if not name:
        return ""
    return WEBAUTHN_ERRORS.get(name, WEBAUTHN_ERROR_DEFAULT)


def _action_views(
    flow: str, state: dict[str, Any], webauthn: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """What the template needs per action: its form fields, ready to print."""
    autofill = webauthn is not None and webauthn["ceremony"] == "conditional"
    views = []
    for name, action in state["actions"].items():
        inputs = list(action["inputs"].values())
        views.append(
            {
                "name": name,
                "param": action_param(action["href"]),
                "label": BUTTON_LABELS.get((state["name"], name))
                or BUTTON_LABELS.get(name)
                or _button_label(name, action.get("description", "")),
                "is_back": name == BACK_ACTION,
                # Only webauthn.js can fill these; without it they are of no use to anyone.
                "script_only": name in WEBAUTHN_RESPONSE_ACTIONS,
                "fields": [
                    _field_view(flow, state["name"], name, item, autofill=autofill)
                    for item in inputs
                ],
                "boolean_names": [i["name"] for i in inputs if i["type"] == "boolean"],
                "json_names": [i["name"] for i in inputs if i["type"] == "json"],
            }
        )
    # ``back`` goes last: it is the way out, not the main thing to do.
    views.sort(key=lambda view: view["is_back"])
    return views


def _field_view(
    flow: str, state_name: str, action: str, item: dict[str, Any], *, autofill: bool = False
) -> dict[str, Any]:
    input_type = item["type"]
    value = item.get("value")
    if item.get("hidden") or _script_filled(action, item["name"]):
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
        "label": _humanize(item["name"]),
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
        "error": error,
    }


def _as_form_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _script_filled(action: str, input_name: str) -> bool:
    if action not in SCRIPT_FILLED_INPUTS:
        return False
    only = SCRIPT_FILLED_INPUTS[action]
    return only is None or only == input_name


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
    if name in ("code", "otp_code", "passcode"):
        return "one-time-code"
    return "off"


def _button_label(name: str, description: str) -> str:
    return description.strip().rstrip(".") or _humanize(name)


def _humanize(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()


def _unknown_flow(request: HttpRequest, flow: str) -> HttpResponse:
    shown = flow if flow.isprintable() and len(flow) <= 64 else "this flow"
    return _message(
        request,
        404,
        "No such flow",
        f"There is no flow called “{shown}”. Pick one below.",
    )


def _message(
    request: HttpRequest, status: int, title: str, text: str, *, flow: str = ""
) -> HttpResponse:
    context = {"status": status, "title": title, "text": text, "flow": flow}
    context["start_links"] = START_LINKS
    return render(request, "hankoflow/web/message.html", context, status=status)


# --- Hanko's own web components -----------------------------------------------------------------


def elements_bundle_path() -> Path:
    """``settings.HANKOFLOW_ELEMENTS_BUNDLE`` or the npm install under ``BASE_DIR``."""
    configured = getattr(django_settings, "HANKOFLOW_ELEMENTS_BUNDLE", None)
    if configured:
        return Path(configured)
    base_dir = getattr(django_settings, "BASE_DIR", None) or Path.cwd()
    return Path(base_dir) / ELEMENTS_BUNDLE


def api_base_url(request: HttpRequest) -> str:
    """Absolute URL under which ``hankoflow.urls`` answers (``/login`` etc. hang off it)."""
    try:
        login_path = reverse(f"hankoflow:flow-{names.FLOW_LOGIN}")
    except NoReverseMatch:
        base_path = get_script_prefix()
    else:
        base_path = login_path.removesuffix(names.FLOW_LOGIN)
    return request.build_absolute_uri(base_path).rstrip("/")


@with_policy(ELEMENTS_PAGE_POLICY)
@require_http_methods(["GET", "HEAD"])
def elements_page(request: HttpRequest) -> HttpResponse:
    """``<hanko-auth>`` from ``@teamhanko/hanko-elements`` talking to this server."""
    context = {
        "bundle_missing": not elements_bundle_path().is_file(),
        "elements_config": {
            "api": api_base_url(request),
            "bundle": reverse("hankoflow_web:elements-bundle"),
        },
    }
    return render(request, "hankoflow/web/elements.html", context)


def _bundle_last_modified(request: HttpRequest) -> datetime | None:
    try:
        return datetime.fromtimestamp(os.stat(elements_bundle_path()).st_mtime, tz=UTC)
    except OSError:
        return None


@require_http_methods(["GET", "HEAD"])
@condition(last_modified_func=_bundle_last_modified)
def elements_bundle(request: HttpRequest) -> HttpResponse:
    """Streams the one file ``elements_bundle_path()`` names; nothing else of node_modules."""
    path = elements_bundle_path()
    try:
        handle = path.open("rb")
    except OSError:
        return HttpResponse(
            "Hanko's web components (@teamhanko/hanko-elements) are not installed.\n"
            "Run bin/setup (it runs npm install), or point the Django setting "
            "HANKOFLOW_ELEMENTS_BUNDLE at dist/elements.js of the package.\n",
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    response = FileResponse(handle, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"  # revalidate with If-Modified-Since after upgrades
    return response


# --- the pages' own script and stylesheet files -------------------------------------------------


def package_file_view(path: Path, content_type: str) -> Callable[[HttpRequest], HttpResponse]:
    """A view serving one file of ``static/hankoflow/`` from the package itself: no
    ``collectstatic`` needed. (The files also sit under ``static/hankoflow/`` for projects that
    prefer their static files.)"""

    def last_modified(request: HttpRequest) -> datetime | None:
        try:
            return datetime.fromtimestamp(os.stat(path).st_mtime, tz=UTC)
        except OSError:
            return None

    @require_http_methods(["GET", "HEAD"])
    @condition(last_modified_func=last_modified)
    def view(request: HttpRequest) -> HttpResponse:
        response = HttpResponse(path.read_bytes(), content_type=content_type)
        response["Cache-Control"] = "no-cache"  # revalidate with If-Modified-Since after upgrades
        response["X-Content-Type-Options"] = "nosniff"
        return response

    return view


JAVASCRIPT = "text/javascript; charset=utf-8"
webauthn_script = package_file_view(WEBAUTHN_SCRIPT, JAVASCRIPT)
elements_script = package_file_view(ELEMENTS_SCRIPT, JAVASCRIPT)
stylesheet = package_file_view(STYLESHEET, "text/css; charset=utf-8")
