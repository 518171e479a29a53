"""``/flow/execute/page``: a small HTML page driven by the Flow Execution API, no JavaScript.

It is a client of the dialect like any other, in-process: each request builds the dialect's
request document (``{"flowType"}`` from the query, ``{"flowId", "actionId", "inputs"}`` from a
posted form), runs it through ``flow_execution.dispatch`` and renders the answer's components as
forms. ``INTERNAL_PROMPT`` is answered for the browser (no WebAuthn without JavaScript), a
``REDIRECTION`` is followed, and the answer's cookies (the session at the end) are passed on.
Steps that need JavaScript (``WEBAUTHN``) or an app's own parameter (a third-party
``redirect_to``) only show what the page can do: its other buttons.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from hankoflow import names
from hankoflow import wording as texts
from hankoflow.api.public.flow_execution import FLOW_TYPES, dispatch
from hankoflow.emails import language_for

TEMPLATE = "hankoflow/flow_execution/page.html"
CHECKBOXES = "__checkbox"  # names of the form's checkboxes: an unticked one is not posted
POLICY = (
    "default-src 'none'; style-src 'self'; img-src data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
HTML_TYPES = {
    "EMAIL": "email",
    "PASSWORD": "password",
    "NUMBER": "number",
    "CHECKBOX": "checkbox",
    "OTP": "text",
    "TEXT": "text",
}
SESSION_HEADERS = ("X-Auth-Token", "X-Session-Lifetime", "Retry-After")


# The flowId in each form is the step's secret (its CSRF token): a forged post cannot know it.
@csrf_exempt
@require_http_methods(["GET", "POST", "OPTIONS"])
def flow_execution_page(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":  # as the API answers a plain OPTIONS: empty, with Allow
        empty = HttpResponse(status=204)
        del empty["Content-Type"]
        empty["Allow"] = "GET, POST, OPTIONS"
        return empty
    chosen = request.headers.get("X-Language") or request.headers.get("Accept-Language", "")
    language = language_for(chosen)
    with translation.override(language):
        if request.method == "GET":
            document: dict[str, Any] = {"flowType": request.GET.get("flowType", "REGISTRATION")}
        else:
            document = form_document(request.POST)
        answers = drive(request, document)
        body = json.loads(answers[-1].content)
        if body.get("type") == "REDIRECTION" and "error" not in body:
            response: HttpResponse = HttpResponseRedirect(body["data"]["url"])
        else:
            context = page_context(body)
            response = render(request, TEMPLATE, context, status=answers[-1].status_code)
    for answer in answers:  # the answers' cookies and session headers reach the browser
        for name, morsel in answer.cookies.items():
            response.cookies[name] = morsel
        for header in SESSION_HEADERS:
            if header in answer:
                response[header] = answer[header]
    response["Content-Language"] = language
    response["Content-Security-Policy"] = POLICY
    response["Cache-Control"] = "no-store"
    patch_vary_headers(response, ("Accept-Language", "X-Language"))
    return response


def form_document(post: QueryDict) -> dict[str, Any]:
    inputs: dict[str, Any] = {
        key: value for key, value in post.items() if key not in ("flowId", "actionId", CHECKBOXES)
    }
    for name in post.getlist(CHECKBOXES):
        inputs[name] = name in post
    return {
        "flowId": post.get("flowId", ""),
        "actionId": post.get("actionId") or None,
        "inputs": inputs,
    }


def drive(request: HttpRequest, document: dict[str, Any]) -> list[HttpResponse]:
    """Run the document; answer capability prompts for the browser (no WebAuthn here)."""
    answers = [dispatch(request, document)]
    for _ in range(3):
        body = json.loads(answers[-1].content)
        if body.get("type") != "INTERNAL_PROMPT" or "error" in body:
            break
        prompt = {"flowId": body["flowId"], "inputs": {"webauthn_available": False}}
        answers.append(dispatch(request, prompt))
    return answers


def page_context(body: dict[str, Any]) -> dict[str, Any]:
    data = body.get("data") or {}
    blocks: list[dict[str, Any]] = []
    if body.get("flowStatus") == "COMPLETE":  # the dialect's COMPLETE has no components
        flow = FLOW_TYPES.get(body.get("flowType", ""), "")
        heading, sentence = texts.state_text(flow, names.STATE_SUCCESS)
        blocks += [{"kind": "heading", "text": heading}, {"kind": "body", "text": sentence}]
    for component in data.get("components", []):
        blocks.extend(block_of(component))
    return {
        "flow_id": body.get("flowId", ""),
        "flow_type": body.get("flowType", ""),
        "complete": body.get("flowStatus") == "COMPLETE",
        "needs_javascript": body.get("type") == "WEBAUTHN",
        "error": body.get("error"),
        "blocks": blocks,
    }


def block_of(component: dict[str, Any]) -> list[dict[str, Any]]:
    kind, config = component["type"], component.get("config", {})
    if kind == "TYPOGRAPHY":
        return [{"kind": component.get("variant", "BODY").lower(), "text": config["text"]}]
    if kind == "IMAGE":
        return [{"kind": "image", "src": config["src"], "alt": config.get("alt", "")}]
    if kind == "BUTTON":
        if config.get("requiredParams"):
            return []  # the app's parameter (redirect_to): not this page's to invent
        return [
            {
                "kind": "button",
                "action_id": component["actionId"],
                "text": config["text"],
                "params": config.get("params", {}),
                "variant": component["variant"].lower(),
            }
        ]
    if kind == "FORM":
        fields = [field_of(c) for c in component["components"] if c["type"] == "INPUT"]
        button = next(c for c in component["components"] if c["type"] == "BUTTON")
        return [
            {
                "kind": "form",
                "action_id": button["actionId"],
                "text": button["config"]["text"],
                "fields": fields,
                "checkboxes": [f["name"] for f in fields if f["checkbox"]],
            }
        ]
    return []


def field_of(component: dict[str, Any]) -> dict[str, Any]:
    config, variant = component["config"], component["variant"]
    return {
        "name": config["identifier"],
        "label": config["label"],
        "type": HTML_TYPES.get(variant, "text"),
        "select": variant == "SELECT",
        "checkbox": variant == "CHECKBOX",
        "otp": variant == "OTP",
        "options": config.get("options", []),
        "required": config["required"],
        "value": config.get("value", ""),
        "min_length": config.get("minLength"),
        "max_length": config.get("maxLength"),
        "error": (component.get("error") or {}).get("message", ""),
    }
