"""``GET|POST /thirdparty/callback`` (platform.md §9.2 step 2): where providers send the browser
back. Not a flow endpoint: it answers with a redirect (307) to the sign-in's ``redirect_to``
with ``?hanko_token=...``, or with ``?error=...&error_description=...``; the client then runs
``exchange_token`` in its flow."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from rest_framework.request import Request

from hankoflow.api.public.base import PublicView
from hankoflow.http.request import request_env
from hankoflow.services.thirdparty import dance
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
