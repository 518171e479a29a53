"""The reference views ``bin/bench`` compares the Flow API against.

``select_update`` is the floor a flow step cannot go below: one locked SELECT of a flow row and
one UPDATE of it in a transaction, behind the same middleware, with no engine, DRF or rendering.
``hello`` is the same request path with no database at all. ``user`` reads ``request.user``,
which ``HankoflowMiddleware`` makes from the request's session JWT (``Authorization: Bearer``):
the token's signature and claims are checked and its session row is read with the account and
Django user (one SELECT; an UPDATE of ``last_used`` at most every 5 s per session).
``hasher`` is the password hasher alone: one ``check_password`` of the seeded password against
the hash the seeded users share (``BENCH_PASSWORD_HASH``, from ``bench.seed``), no database.
"""

from __future__ import annotations

import os
import uuid

from django.contrib.auth.hashers import check_password
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from bench.seed import PASSWORD
from hankoflow.models import Flow


@csrf_exempt
def select_update(request: HttpRequest, flow_id: uuid.UUID) -> JsonResponse:
    with transaction.atomic():
        try:
            flow = Flow.objects.select_for_update().get(id=flow_id)
        except Flow.DoesNotExist:
            return JsonResponse({"error": "not_found"}, status=404)
        Flow.objects.filter(id=flow_id).update(version=F("version") + 1)
    return JsonResponse({"id": str(flow.id), "version": flow.version + 1})


@csrf_exempt
def hello(request: HttpRequest) -> JsonResponse:
    return JsonResponse({})


@csrf_exempt
def user(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"user_id": request.user.pk})


@csrf_exempt
def hasher(request: HttpRequest) -> JsonResponse:
    # No setter: a hash from another hasher than the preferred one would be checked, not saved.
    ok = check_password(PASSWORD, os.environ.get("BENCH_PASSWORD_HASH", ""))
    return JsonResponse({"ok": ok}, status=200 if ok else 500)
