"""``/``: a generic page for any flow state, a plain HTML client of the engine.

The page renders the state object the JSON API sends (``hankoflow.renderers.hanko.render``),
each action as a form (``action_forms.py``). A POST is read back into ``input_data``
(``input_data.py``) and goes through ``runner.run`` exactly like a JSON request would, and the
answer's status code and effects (cookies, headers) are kept. The only script is webauthn.js,
for what needs the browser's WebAuthn API (``webauthn.py``).

The words on the page (headings, labels, errors) come from ``texts.py`` in the request's
language (``language.py``); ``?next=`` is kept across the steps and is where the success page
leads (``next_url.py``).

Two kinds of token protect a POST: Django's CSRF token (the page is same-origin HTML, so
``CsrfViewMiddleware`` stays on) and the flow's own ``csrf_token``, checked by the engine.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from hankoflow import errors, names
from hankoflow.conf import settings
from hankoflow.engine import FlowResult
from hankoflow.flows.registry import FLOWS
from hankoflow.http import runner
from hankoflow.http.request_ids import with_request_id
from hankoflow.renderers import hanko
from hankoflow.web import texts, thirdparty
from hankoflow.web.action_forms import CONFIRMED_ACTIONS, action_forms, action_param
from hankoflow.web.headers import FLOW_PAGE_POLICY, with_policy
from hankoflow.web.input_data import (
    FIELD_ACTION,
    FIELD_CONFIRM,
    FIELD_CSRF,
    FIELD_FLOW,
    form_input_data,
)
from hankoflow.web.language import in_page_language, tell_flow_the_language
from hankoflow.web.next_url import FIELD_NEXT, continue_url, requested_next
from hankoflow.web.profile_page import notice as profile_notice
from hankoflow.web.profile_page import profile_sections
from hankoflow.web.webauthn import webauthn_config, webauthn_error

# The flows a person can start from the home page: (flow name, link text).
START_LINKS = (
    (names.FLOW_LOGIN, gettext_lazy("Sign in")),
    (names.FLOW_REGISTRATION, gettext_lazy("Sign up")),
)

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

TERMINAL_STATES = {names.STATE_SUCCESS, names.STATE_ERROR, names.STATE_ACCOUNT_DELETED}

# Query parameter: ``nojs=1`` asks for the server-side auto-steps (the no-JavaScript fallback of
# ``preflight``).
PARAM_NO_JS = "nojs"


@with_policy(FLOW_PAGE_POLICY)
@with_request_id
@never_cache  # the page carries the flow's token: never store it
@require_http_methods(["GET", "POST"])
@in_page_language
def flow_page(request: HttpRequest) -> HttpResponse:
    """``GET /``: links to the flows; ``GET /?flow=<name>``: start it; ``POST /``: one action."""
    tell_flow_the_language(request)
    if request.method == "POST":
        return _post_action(request)
    if thirdparty.is_return(request):
        return _thirdparty_return(request)
    flow = request.GET.get(FIELD_FLOW, "")
    if not flow:
        return render(request, "hankoflow/web/home.html", _links_context(request))
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
            _("Nothing to do"),
            _("The form did not say what to do. Please start again."),
            flow=flow,
        )
    if any("\x00" in name + "".join(values) for name, values in request.POST.lists()):
        # As the JSON API's strict body parsing: PostgreSQL cannot store NUL (issue 8).
        return _message(
            request,
            400,
            _("Invalid form"),
            _("The form held a character that is not allowed. Please start again."),
            flow=flow,
        )
    if action.partition("@")[0] in CONFIRMED_ACTIONS and not request.POST.get(FIELD_CONFIRM):
        # The form's checkbox is ``required``; this is for a browser that ignores that.
        return _message(
            request,
            400,
            str(texts.profile_word("not_confirmed_title")),
            str(texts.profile_word("not_confirmed")),
            flow=flow,
        )
    input_data = form_input_data(request.POST)
    verifier = ""
    if thirdparty.is_start(action):
        verifier = thirdparty.fill_start_inputs(request, flow, input_data)
    result = runner.run(request, flow, action, input_data, request.POST.get(FIELD_CSRF, ""))
    if verifier and (leaving := thirdparty.leave_for_provider(request, flow, result, verifier)):
        return leaving
    return _state_response(request, flow, result, result.effects)


def _thirdparty_return(request: HttpRequest) -> HttpResponse:
    """Back from a provider (``web/thirdparty.py``): exchange the token in the flow that left
    for it (or go ``back`` after an error) and show where that leads."""
    pending = thirdparty.pending_of(request)
    step = thirdparty.returned_step(request, pending) if pending else None
    if pending is None or step is None or pending.flow not in FLOWS:
        flow = request.GET.get(FIELD_FLOW, "")
        response = _message(
            request,
            400,
            str(texts.profile_word("thirdparty_lost_title")),
            str(texts.profile_word("thirdparty_lost")),
            flow=flow if flow in FLOWS else "",
        )
    elif thirdparty.needs_bounce(request, pending):
        return thirdparty.bounce(request)  # the pending cookie stays for the second load
    else:
        action, input_data = step
        result = runner.run(request, pending.flow, action, input_data, pending.csrf_token)
        error = request.GET.get(thirdparty.PARAM_ERROR)
        notice = str(texts.thirdparty_error(error)) if action == pending.back else ""
        response = _state_response(
            request, pending.flow, result, result.effects, thirdparty_error=notice
        )
    thirdparty.forget(response, request)  # one return per start: a reload shows the message
    return response


def _with_auto_steps(
    request: HttpRequest, flow: str, result: FlowResult
) -> tuple[FlowResult, list[Any]]:
    """Run the ``AUTO_STEPS`` of each state reached; returns the last result and all effects."""
    effects = list(result.effects)
    for _step in range(MAX_AUTO_STEPS):
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


def _state_response(
    request: HttpRequest,
    flow: str,
    result: FlowResult,
    effects: Iterable[Any],
    *,
    thirdparty_error: str = "",
) -> HttpResponse:
    if flow == names.FLOW_PROFILE and result.error == errors.UNAUTHORIZED:
        return _signed_out(request, result, effects)
    state = hanko.render(result, debug=settings.DEBUG)
    webauthn = webauthn_config(state)
    heading, lead = texts.state_text(flow, state["name"])
    next_url = requested_next(request)
    payload = state.get("payload") or {}
    actions = action_forms(flow, state, webauthn)
    context = {
        **_links_context(request),
        "flow": flow,
        "state": state,
        "heading": heading,
        "lead": lead,
        "error_message": texts.error_message(state.get("error")),
        "thirdparty_error": thirdparty_error,
        "is_terminal": state["name"] in TERMINAL_STATES,
        "is_success": state["name"] == names.STATE_SUCCESS,
        "is_farewell": state["name"] == names.STATE_ACCOUNT_DELETED,
        "continue_url": continue_url(next_url),
        "restart_url": _flow_url(flow, next_url),
        "profile_url": _flow_url(names.FLOW_PROFILE, next_url),
        "actions": actions,
        "otp_secret": payload.get("otp_secret") or "",
        "otp_image": _data_image(payload.get("otp_image_source")),
        "state_json": json.dumps(state, indent=2, ensure_ascii=False),
        "webauthn": webauthn,
        "webauthn_error": webauthn_error(request),
        "no_js_url": _flow_url(flow, next_url, nojs=True),
    }
    template = "hankoflow/web/state.html"
    if flow == names.FLOW_PROFILE and state["name"] == names.STATE_PROFILE_INIT:
        template = "hankoflow/web/profile.html"
        posted = request.POST.dict() if request.method == "POST" else {}
        context["sections"] = profile_sections(state, actions, posted)
        context["notice"] = profile_notice(posted, state)
        context["has_next"] = bool(next_url)
    # The HTTP status mirrors the state's, as on the JSON API (a 403 error state is a 403 page).
    response = render(request, template, context, status=state["status"])
    for effect in effects:
        effect.apply_to(response)
    return response


def _signed_out(request: HttpRequest, result: FlowResult, effects: Iterable[Any]) -> HttpResponse:
    """The profile without a valid session: what to do, and sign-in links that lead back here
    (``next`` is the profile with its own ``next``)."""
    profile = f"{request.path}{_flow_url(names.FLOW_PROFILE, requested_next(request))}"
    links = [(flow, text, _flow_url(flow, profile)) for flow, text in START_LINKS]
    context = {
        "start_links": links,
        "next": profile,
        "title": texts.profile_word("signed_out_title"),
        "text": texts.profile_word("signed_out"),
    }
    # 401 as on the JSON API; a session cookie that failed to validate is deleted (effects).
    response = render(request, "hankoflow/web/signed_out.html", context, status=result.status)
    for effect in effects:
        effect.apply_to(response)
    return response


def _unknown_flow(request: HttpRequest, flow: str) -> HttpResponse:
    return _message(
        request,
        404,
        _("Page not found"),
        _("This link does not lead anywhere. Sign in or create an account below."),
    )


def _message(
    request: HttpRequest, status: int, title: str, text: str, *, flow: str = ""
) -> HttpResponse:
    context = {**_links_context(request), "status": status, "title": title, "text": text}
    context["flow"] = flow
    context["restart_url"] = _flow_url(flow, requested_next(request)) if flow else ""
    return render(request, "hankoflow/web/message.html", context, status=status)


def _flow_url(flow: str, next_url: str, *, nojs: bool = False) -> str:
    """The query string that starts ``flow`` and keeps ``next``."""
    query = {FIELD_FLOW: flow}
    if nojs:
        query[PARAM_NO_JS] = "1"
    if next_url:
        query[FIELD_NEXT] = next_url
    return f"?{urlencode(query)}"


def _links_context(request: HttpRequest) -> dict[str, Any]:
    """The start links (home page, header, error pages), each keeping ``next``."""
    next_url = requested_next(request)
    links = [(flow, text, _flow_url(flow, next_url)) for flow, text in START_LINKS]
    return {"start_links": links, "next": next_url}


def _data_image(source: Any) -> str:
    """The QR code's ``data:image/png`` URL; anything else is not put into ``src``."""
    if isinstance(source, str) and source.startswith("data:image/png;base64,"):
        return source
    return ""
