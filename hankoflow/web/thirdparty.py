"""Third-party sign-in and connected accounts on the flow page (flow-api.md §4.0.2.4, §4.3.2 #21).

``thirdparty_oauth`` (login, registration) and ``connect_thirdparty_oauth_provider`` (profile)
show one button per provider (``action_forms.py``). When one is pressed the page fills in the
two inputs a browser cannot know: ``redirect_to`` (this page, marked with ``?thirdparty=1``) and
a fresh PKCE ``code_verifier``. The flow answers ``thirdparty`` with the provider's URL; the page
remembers what it needs to go on in a short-lived signed cookie (the flow, its
``exchange_token`` and ``back`` actions, the flow's CSRF token and the verifier) and shows a
page that moves on to the provider by a meta refresh, with a link for browsers that do not: a
redirect of the form's POST would be refused by the page's ``form-action 'self'``.

The provider sends the browser to ``/thirdparty/callback``, which sends it back here with
``hanko_token`` (or ``error``). The page then runs the same flow's ``exchange_token`` with the
token and the verifier, as Hanko's element runs it from its cached ``thirdparty`` state (or
``back`` with the error), and shows the state it leads to: ``success``, an onboarding step, or
the profile with the new connected account (after reloading itself once when the session
cookie, ``SameSite=Strict``, did not come with the provider's redirect). Without the cookie
(another browser, expired, used) nothing is exchanged: the verifier binds the token to the
browser that started.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from hankoflow import names
from hankoflow.conf import settings
from hankoflow.engine import Back, FlowResult
from hankoflow.renderers import hanko
from hankoflow.web import texts
from hankoflow.web.action_forms import PROVIDER_ACTIONS, action_param
from hankoflow.web.input_data import FIELD_FLOW
from hankoflow.web.next_url import FIELD_NEXT, requested_next

PARAM_RETURN = "thirdparty"  # marks the page's own redirect_to
PARAM_TOKEN = "hanko_token"  # noqa: S105 - a query parameter's name
PARAM_ERROR = "error"
PARAM_BOUNCED = "bounced"
COOKIE_NAME = "hankoflow_thirdparty"
_SALT = "hankoflow.web.thirdparty"
MAX_AGE = 600  # seconds: the provider's state lives 5 minutes, the token 1 more


@dataclass(frozen=True)
class Pending:
    """What the page needs to go on when the browser comes back."""

    flow: str
    exchange: str  # ``exchange_token@<flow id>``
    back: str  # ``back@<flow id>`` or ""
    csrf_token: str
    code_verifier: str


def is_start(action: str) -> bool:
    return action.partition("@")[0] in PROVIDER_ACTIONS


def fill_start_inputs(request: HttpRequest, flow: str, input_data: dict[str, Any]) -> str:
    """Set ``redirect_to`` and a new ``code_verifier``; returns the verifier."""
    query = {FIELD_FLOW: flow, PARAM_RETURN: "1"}
    if next_url := requested_next(request):
        query[FIELD_NEXT] = next_url
    input_data["redirect_to"] = request.build_absolute_uri(f"{request.path}?{urlencode(query)}")
    verifier = secrets.token_urlsafe(48)  # 64 characters of RFC 7636's alphabet
    input_data["code_verifier"] = verifier
    return verifier


def leave_for_provider(
    request: HttpRequest, flow: str, result: FlowResult, verifier: str
) -> HttpResponse | None:
    """The page that moves on to the provider, or None when the flow did not get there."""
    if result.state != names.STATE_THIRDPARTY or result.error is not None:
        return None
    state = hanko.render(result)
    url = (state.get("payload") or {}).get("redirect_url")
    exchange = state["actions"].get(names.ACTION_EXCHANGE_TOKEN)
    if not isinstance(url, str) or not url.startswith(("https://", "http://")) or not exchange:
        return None
    back = state["actions"].get(Back.name)
    pending = Pending(
        flow=flow,
        exchange=action_param(exchange["href"]),
        back=action_param(back["href"]) if back else "",
        csrf_token=result.csrf_token,
        code_verifier=verifier,
    )
    context = {
        "redirect_url": url,
        "title": texts.profile_word("leaving_title"),
        "text": texts.profile_word("leaving"),
        "link": texts.profile_word("leaving_link"),
    }
    response = render(request, "hankoflow/web/thirdparty_redirect.html", context)
    for effect in result.effects:
        effect.apply_to(response)
    response.set_signed_cookie(
        COOKIE_NAME,
        json.dumps(asdict(pending), separators=(",", ":")),
        salt=_SALT,
        max_age=MAX_AGE,
        path=request.path,
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",  # sent on the provider's top-level redirect back here
    )
    return response


def is_return(request: HttpRequest) -> bool:
    return request.method == "GET" and request.GET.get(PARAM_RETURN) == "1"


def pending_of(request: HttpRequest) -> Pending | None:
    """The cookie's pending exchange, or None (missing, expired, tampered)."""
    try:
        raw = request.get_signed_cookie(COOKIE_NAME, salt=_SALT, max_age=MAX_AGE)
        return Pending(**json.loads(raw))
    except (KeyError, signing.BadSignature, ValueError, TypeError):
        return None


def forget(response: HttpResponse, request: HttpRequest) -> None:
    response.delete_cookie(COOKIE_NAME, path=request.path, samesite="Lax")


def needs_bounce(request: HttpRequest, pending: Pending) -> bool:
    """Whether to load the page once more before going on in the profile.

    The browser arrives from the provider, a navigation another site started, which does not
    carry a ``SameSite=Strict`` session cookie (Hanko's default). The profile needs the session,
    so the page reloads itself once (``?bounced=1``): a navigation this site starts carries it.
    """
    return (
        pending.flow == names.FLOW_PROFILE
        and settings.SESSION.COOKIE.NAME not in request.COOKIES
        and request.GET.get(PARAM_BOUNCED) != "1"
    )


def bounce(request: HttpRequest) -> HttpResponse:
    """The page that loads this URL again, from this site (``needs_bounce``)."""
    query = request.GET.copy()
    query[PARAM_BOUNCED] = "1"
    context = {
        "redirect_url": f"{request.path}?{query.urlencode()}",
        "title": texts.profile_word("returning_title"),
        "text": texts.profile_word("returning"),
        "link": texts.profile_word("returning_link"),
    }
    return render(request, "hankoflow/web/thirdparty_redirect.html", context)


def returned_step(request: HttpRequest, pending: Pending) -> tuple[str, dict[str, Any]] | None:
    """The action to run now and its input data: ``exchange_token`` with the token, ``back``
    after an error, or None (neither a token nor an error came back)."""
    token = request.GET.get(PARAM_TOKEN, "")
    if token:
        return pending.exchange, {"token": token, "code_verifier": pending.code_verifier}
    if request.GET.get(PARAM_ERROR) and pending.back:
        return pending.back, {}
    return None
