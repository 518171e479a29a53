"""Demo views that show a Hanko session as Django's ``request.user`` (issue 4).

``/protected/`` is a plain Django view behind ``login_required``: a valid session cookie (or
``Authorization: Bearer`` token) makes it render, anything else redirects to the sign-in flow.
``/protected/logout/`` ends the session from a plain form (Django's CSRF token, no JavaScript).
``GET /api/whoami`` is a DRF view authenticated by ``HankoSessionAuthentication``.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import logout as django_logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hankoflow.http import sessions
from hankoflow.http.request import request_env

LOGIN_URL = "/?flow=login"


@never_cache
@login_required  # settings.LOGIN_URL: the flow page, with ?next= back here
def protected(request: HttpRequest) -> HttpResponse:
    claims = dict(request.auth) if getattr(request, "auth", None) else {}
    context = {"claims": claims, "claims_json": json.dumps(claims, indent=2, sort_keys=True)}
    return render(request, "protected.html", context)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    response = HttpResponseRedirect(LOGIN_URL)
    info = sessions.session_for_request(request)
    if info is not None:
        sessions.logout(request, info, env=request_env(request)).apply_to(response)
    else:
        django_logout(request)
    return response


class WhoAmI(APIView):
    """``GET /api/whoami``: who DRF thinks is calling, from the Hanko session's claims."""

    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        claims: dict[str, Any] = request.auth if isinstance(request.auth, dict) else {}
        account = getattr(request.user, "hankoflow_account", None)
        return Response(
            {
                "user_id": claims.get("sub") or (str(account.pk) if account else None),
                "username": request.user.get_username(),
                "email": (claims.get("email") or {}).get("address"),
                "session_id": claims.get("session_id"),
                "amr": claims.get("amr", []),
            }
        )
