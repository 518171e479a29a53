"""The audit log, read-only: filters, search by email/IP/user id, a link to each user, CSV export.

The CSV export is both an action (the selected entries) and a button on the list (``export/``:
every entry the page's filters and search match, with the same columns).

Actor emails are stored masked, so a search for an address also looks the address up among the
accounts' emails and finds the entries of those accounts.
"""

from __future__ import annotations

import contextlib
import csv
import json
import uuid
from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.urls import URLPattern, path

from hankoflow.admin.common import ReadOnlyAdmin, admin_url, user_link
from hankoflow.models import Account, AuditLogEntry, Email

CSV_COLUMNS = [
    "created_at",
    "type",
    "actor_user_id",
    "actor_email",
    "error",
    "meta_source_ip",
    "meta_user_agent",
    "meta_http_request_id",
    "details",
]


class ActorFilter(admin.SimpleListFilter):
    """Filter by user (``?actor_user_id=<Hanko user id>``, the link from a user's page)."""

    title = "user"
    parameter_name = "actor_user_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        value = self.value()
        return [(value, value)] if value else []

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        try:
            return queryset.filter(actor_user_id=uuid.UUID(value))
        except ValueError:
            return queryset.none()


class _Echo:
    def write(self, value: str) -> str:
        return value


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "type", "user", "actor_email", "meta_source_ip", "error"]
    list_filter = ["type", "created_at", ActorFilter]
    search_fields = ["actor_email", "meta_source_ip", "meta_http_request_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["export_csv"]
    change_list_template = "hankoflow/admin/auditlogentry_change_list.html"
    fields = [
        "id",
        "created_at",
        "type",
        "user",
        "actor_user_id",
        "actor_email",
        "error",
        "details",
        "meta_source_ip",
        "meta_user_agent",
        "meta_http_request_id",
    ]
    readonly_fields = fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # only the retention job deletes entries (security-checks AU-03)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        owner = Account.objects.filter(pk=OuterRef("actor_user_id")).values("user_id")[:1]
        return super().get_queryset(request).annotate(hankoflow_user_pk=Subquery(owner))

    @admin.display(description="user")
    def user(self, entry: AuditLogEntry) -> str:
        if entry.actor_user_id is None:
            return "-"
        if entry.hankoflow_user_pk is None:  # type: ignore[attr-defined]
            return f"{entry.actor_user_id} (deleted)"
        return user_link(get_user_model(), entry.hankoflow_user_pk, entry.actor_user_id)  # type: ignore[attr-defined]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        found, duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip().lower()
        if not term:
            return found, duplicates
        extra = Q(actor_user_id__in=Email.objects.filter(address=term).values("account_id"))
        with contextlib.suppress(ValueError):
            extra |= Q(actor_user_id=uuid.UUID(term))
        return queryset.filter(Q(pk__in=found.values("pk")) | extra), duplicates

    def get_urls(self) -> list[URLPattern]:
        meta = self.model._meta
        export = path(
            "export/",
            self.admin_site.admin_view(self.export_view),
            name=f"{meta.app_label}_{meta.model_name}_export",
        )
        return [export, *super().get_urls()]

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The button: every entry the changelist's filters and search (same query string) match."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            # As the changelist does with a bad filter: back to the list, which says so.
            changelist_url = admin_url(self.model, view="changelist")
            return HttpResponseRedirect(f"{changelist_url}?{ERROR_FLAG}=1")
        return csv_response(changelist.queryset)

    @admin.action(permissions=["view"], description="Export as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> StreamingHttpResponse:
        """Streams the selected entries ("select all" takes every entry the filters match)."""
        return csv_response(queryset)


# A spreadsheet runs a cell that starts with one of these as a formula; user agents and emails
# come from clients, so such cells are written with a leading quote (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def csv_response(queryset: QuerySet) -> StreamingHttpResponse:
    """The entries as a streamed CSV file, newest first, ``CSV_COLUMNS`` (details as JSON)."""
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield writer.writerow(CSV_COLUMNS)
        for entry in queryset.order_by("-created_at").iterator(chunk_size=2000):
            values = [getattr(entry, name) for name in CSV_COLUMNS[:-1]]
            details = json.dumps(entry.details) if entry.details is not None else ""
            yield writer.writerow([_cell(v) for v in values] + [details])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="hankoflow-audit-log.csv"'
    return response
