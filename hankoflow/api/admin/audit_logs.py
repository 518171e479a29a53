"""Admin API: ``GET /audit_logs`` (platform.md §4.3.9), newest first, paginated (§4.2).

Filters: ``start_time`` / ``end_time`` (RFC 3339, exclusive bounds on ``created_at``), ``type``
(repeatable, exact), ``actor_user_id``, ``actor_email``, ``meta_source_ip`` (substrings) and
``q`` (a substring of any of those three). Actor emails are stored masked (§6.2), so filters
match the masked text, as in Hanko.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.utils.dateparse import parse_datetime
from rest_framework.request import Request

from hankoflow.api.admin import pagination
from hankoflow.api.admin.base import AdminView, HankoError
from hankoflow.models import AuditLogEntry
from hankoflow.services.accounts import rfc3339


class AuditLogsView(AdminView):
    def get(self, request: Request) -> HttpResponse:
        rows, page, total = pagination.paginate(request, _filtered(request))
        body = [entry_json(entry) for entry in rows]
        return pagination.add_headers(JsonResponse(body, safe=False), request, page, total)


def entry_json(entry: AuditLogEntry) -> dict[str, Any]:
    """An entry as Hanko's admin API has it (without the ``TenantID`` key Hanko leaks)."""
    data: dict[str, Any] = {"id": str(entry.id), "type": entry.type}
    if entry.error:
        data["error"] = entry.error
    data["meta_http_request_id"] = entry.meta_http_request_id
    data["meta_source_ip"] = entry.meta_source_ip
    data["meta_user_agent"] = entry.meta_user_agent
    if entry.actor_user_id is not None:
        data["actor_user_id"] = str(entry.actor_user_id)
    if entry.actor_email:
        data["actor_email"] = entry.actor_email
    data["details"] = entry.details
    data["created_at"] = rfc3339(entry.created_at)
    data["updated_at"] = rfc3339(entry.updated_at)
    return data


def _time(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name, "")
    if not raw:
        return None
    try:
        value = parse_datetime(raw.replace(" ", "+"))  # a "+" offset arrives as a space
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise HankoError(400, f"failed to parse {name} as RFC 3339 time")
    return value


def _filtered(request: Request) -> QuerySet:
    params = request.query_params
    entries = AuditLogEntry.objects.annotate(actor_id_text=Cast("actor_user_id", CharField()))
    if (start := _time(request, "start_time")) is not None:
        entries = entries.filter(created_at__gt=start)
    if (end := _time(request, "end_time")) is not None:
        entries = entries.filter(created_at__lt=end)
    if types := [t for t in params.getlist("type") if t]:
        entries = entries.filter(type__in=types)
    if user_id := params.get("actor_user_id", ""):
        entries = entries.filter(actor_id_text__contains=_uuid_text(user_id))
    if email := params.get("actor_email", ""):
        entries = entries.filter(actor_email__contains=email)
    if ip := params.get("meta_source_ip", ""):
        entries = entries.filter(meta_source_ip__contains=ip)
    if q := params.get("q", ""):
        entries = entries.filter(
            Q(actor_email__contains=q)
            | Q(meta_source_ip__contains=q)
            | Q(actor_id_text__contains=_uuid_text(q))
        )
    return entries.order_by("-created_at", "-pk")


def _uuid_text(value: str) -> str:
    # SQLite keeps UUIDs as 32 hex digits without hyphens; PostgreSQL's text form has them.
    return value.replace("-", "") if connection.vendor == "sqlite" else value


urlpatterns = [path("audit_logs", AuditLogsView.as_view(), name="audit-logs")]
