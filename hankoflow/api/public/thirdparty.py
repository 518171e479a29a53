"""``GET|POST /thirdparty/callback`` (platform.md §9.2 step 2): where providers send the browser
back. Not a flow endpoint: it answers with a redirect (307) to the sign-in's ``redirect_to``
with ``?hanko_token=...``, or with ``?error=...&error_description=...``; the client then runs
``exchange_token`` in its flow.

``GET /thirdparty/auth`` (platform.md §3.3.8, Hanko v2, deprecated) starts a sign-in without a
flow: the browser goes to the provider at once; the token it brings back is redeemed by the
``token_exchange`` flow.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from rest_framework.request import Request

from hankoflow.api.public.base import PublicView
from hankoflow.conf import settings
from hankoflow.http.request import request_env
from hankoflow.services.thirdparty import dance, redirects
from hankoflow.services.thirdparty.state import COOKIE_NAME, StateCookie

_PARAMS = ("state", "code", "error", "error_description")


class CallbackView(PublicView):
    def get(self, request: Request) -> HttpResponse:
        query = {k: request.GET.get(k, "") for k in _PARAMS if request.GET.get(k)}
        location = dance.finish(
            query, request.COOKIES.get(COOKIE_NAME), request._request, request_env(request._request)
        )
        if location is None:
            response: HttpResponse = JsonResponse(
                {"code": 400, "message": "no redirect target for the third-party callback"},
                status=400,
            )
        else:
            response = HttpResponse(status=307)
            response["Location"] = location
        response["Cache-Control"] = "no-store"
        StateCookie("").apply_to(response)
        return response

    def post(self, request: Request) -> HttpResponse:
        """Providers that post the result (Apple's ``form_post``): 303 to the GET callback."""
        form = request._request.POST
        query = {k: form.get(k, "") for k in _PARAMS if form.get(k)}
        # Hanko: redirects to the bare path /thirdparty/callback, which breaks under a prefix.
        response = HttpResponse(status=303)
        response["Location"] = f"{reverse('hankoflow:thirdparty-callback')}?{urlencode(query)}"
        return response


class AuthView(PublicView):
    def get(self, request: Request) -> HttpResponse:
        redirect_to = request.GET.get("redirect_to", "")
        try:
            started = dance.start(
                request.GET.get("provider", ""), redirect_to, "", request._request
            )
        except dance.StartRefused as refused:
            if refused.technical:
                code, description = "server_error", dance.SERVER_ERROR_DESCRIPTION
            else:
                code, description = "invalid_request", str(refused)
            # Hanko: errors go to the Referer, whatever it is; we use it only when the
            # allow-list allows it, else THIRD_PARTY.ERROR_REDIRECT_URL.
            referer = request.META.get("HTTP_REFERER", "")
            target = referer if redirects.is_allowed(referer) else ""
            target = target or settings.THIRD_PARTY.ERROR_REDIRECT_URL
            if not target:
                return JsonResponse({"code": 400, "message": description}, status=400)
            response = HttpResponse(status=307)
            response["Location"] = dance.add_query(
                target, {"error": code, "error_description": description}
            )
            return response
        response = HttpResponse(status=307)
        response["Location"] = started.authorization_url
        response["Cache-Control"] = "no-store"
        StateCookie(started.sealed_state, same_site="Lax").apply_to(response)
        return response
