"""``GET /health/alive`` and ``GET /health/ready`` (platform.md §10.1).

Hanko's ready check checks nothing; ours asks the database, the cache and, when emails go
through Celery (``EMAIL_DELIVERY.MODE``), the Celery broker, and answers 503 naming what failed,
so an orchestrator does not route traffic to a broken instance. A host that sends emails
in-process, or whose Celery app runs tasks eagerly, has no broker to ask.
"""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, JsonResponse
from rest_framework.request import Request

from hankoflow.api.public.base import PublicView
from hankoflow.services.mail import dispatch

logger = logging.getLogger("hankoflow.health")
BROKER_TIMEOUT = 2  # seconds


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_cache() -> None:
    cache.set("hankoflow:health", "1", 10)
    if cache.get("hankoflow:health") != "1":
        raise RuntimeError("the cache did not keep a value")


def check_broker() -> None:
    app = dispatch.celery_app()
    if dispatch.delivery_mode(app) != dispatch.CELERY:
        return  # emails are sent in-process: no broker is needed
    if app is None:
        raise RuntimeError("EMAIL_DELIVERY.MODE is 'celery' but Celery is not installed")
    if app.conf.task_always_eager:
        return  # tasks run in-process: there is no broker to reach
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT)


CHECKS = {"database": check_database, "cache": check_cache, "broker": check_broker}


class AliveView(PublicView):
    def get(self, request: Request) -> HttpResponse:
        return JsonResponse({"alive": True})


class ReadyView(PublicView):
    def get(self, request: Request) -> HttpResponse:
        failed = []
        for name, check in CHECKS.items():
            try:
                check()
            except Exception:
                logger.warning("readiness check %s failed", name, exc_info=True)
                failed.append(name)
        if failed:
            return JsonResponse({"ready": False, "failed": failed}, status=503)
        return JsonResponse({"ready": True})
