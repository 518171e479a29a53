"""Admin API: the status page ``GET /`` and ``/health/alive``, ``/health/ready`` (platform.md
§4.3.1, §10.1).

``/`` is a small HTML page, as Hanko's: 200 "API is running." after a database query, 500 when
the database does not answer. It needs an API key, as the document marks it; the health
endpoints are the public API's (no key, so an orchestrator can probe them).
"""

from __future__ import annotations

import logging

from django.http import HttpResponse
from django.urls import path
from rest_framework.request import Request

from hankoflow.api.admin.base import AdminView
from hankoflow.api.public.health import AliveView, ReadyView, check_database

logger = logging.getLogger("hankoflow.health")

PAGE = (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>API Status</title>'
    "</head><body><h1>API Status</h1><p>{message}</p></body></html>\n"
)
RUNNING = "✅ API is running."
FAILING = "❌ API is not functioning properly due to database connectivity problems."


class StatusView(AdminView):
    def get(self, request: Request) -> HttpResponse:
        try:
            check_database()
        except Exception:
            logger.warning("status page: the database did not answer", exc_info=True)
            return _page(FAILING, 500)
        return _page(RUNNING, 200)


def _page(message: str, status: int) -> HttpResponse:
    response = HttpResponse(PAGE.format(message=message), status=status)
    response["Content-Type"] = "text/html; charset=utf-8"
    response["Cache-Control"] = "no-store"
    return response


urlpatterns = [
    path("", StatusView.as_view(), name="status"),
    path("health/alive", AliveView.as_view(), name="health-alive"),
    path("health/ready", ReadyView.as_view(), name="health-ready"),
]
