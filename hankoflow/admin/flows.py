"""Flow inspection: every flow with its outcome, and one flow's timeline, stash and emails.

The page an operator opens when someone says "I never got my code": the timeline shows each
step (inputs by name only, never values), the stash is shown with secrets redacted, and the
passcode emails the flow queued link to their outbox rows. Read-only: flows are written by the
engine alone. A user's recent flows are ``flows_of_user_url(user)``.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from hankoflow.admin.common import ReadOnlyAdmin, admin_url, link, user_link
from hankoflow.models import Flow, OutboxEmail
from hankoflow.services import flow_inspection


def flows_of_user_url(user: Model) -> str | None:
    """The flow list narrowed to one user's flows, newest first (for the user's page)."""
    url = admin_url(Flow, view="changelist")
    return f"{url}?user__id__exact={user.pk}" if url else None


class OutcomeFilter(admin.SimpleListFilter):
    title = "outcome"
    parameter_name = "outcome"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(flow_inspection.OUTCOMES.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in flow_inspection.OUTCOMES:
            return queryset.filter(flow_inspection.outcome_filter(self.value()))
        return queryset


@admin.register(Flow)
class FlowAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "state", "user_display", "created_at", "expires_at", "outcome"]
    list_filter = ["name", "state", OutcomeFilter, "created_at"]
    list_select_related = ["user"]
    search_fields = ["=id"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = [
        "id",
        "name",
        "state",
        "outcome",
        "user_display",
        "language",
        "created_at",
        "updated_at",
        "expires_at",
        "timeline",
        "stash_redacted",
        "emails",
    ]
    readonly_fields = fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        notice = flow_inspection.elsewhere()
        if notice:
            messages.warning(request, notice)
        return super().changelist_view(request, extra_context)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        rows = super().get_queryset(request)
        match = request.resolver_match
        if match and match.url_name and match.url_name.endswith("changelist"):
            # The list shows none of the JSON columns, which can hold a hundred steps each.
            rows = rows.defer("stash", "history")
        return rows

    @admin.display(description="user", ordering="user")
    def user_display(self, flow: Flow) -> str:
        return user_link(type(flow.user), flow.user_id, flow.user) if flow.user_id else "-"

    @admin.display(description="outcome")
    def outcome(self, flow: Flow) -> str:
        return flow_inspection.OUTCOMES[flow_inspection.outcome_of(flow)]

    @admin.display(description="timeline")
    def timeline(self, flow: Flow) -> SafeString | str:
        steps = flow_inspection.timeline(flow)
        if not steps:
            return "-"
        head = format_html_join(
            "",
            "<th>{}</th>",
            (
                (title,)
                for title in (
                    "time",
                    "state before",
                    "action",
                    "inputs sent",
                    "result state",
                    "error",
                    "IP",
                    "user agent",
                )
            ),
        )
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td><td>{}</td></tr>",
            (
                (s.at, s.from_state, s.action, s.inputs, s.to_state, s.error, s.ip, s.user_agent)
                for s in steps
            ),
        )
        return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, rows)

    @admin.display(description="stash (secrets redacted)")
    def stash_redacted(self, flow: Flow) -> SafeString:
        stash = flow.stash or {}
        shown = {
            "state": stash.get("state"),
            "prev_state": stash.get("prev_state"),
            "scheduled": stash.get("scheduled", []),
            "data": flow_inspection.redact_stash(stash.get("data") or {}),
            "can go back to": [item.get("state") for item in stash.get("history") or []],
        }
        return format_html("<pre>{}</pre>", json.dumps(shown, indent=2, default=str))

    @admin.display(description="emails sent")
    def emails(self, flow: Flow) -> SafeString | str:
        rows = list(flow_inspection.emails_of(flow))
        if not rows:
            return "none queued by this flow"
        return format_html_join(
            "",
            "<div>{} · {} to {} · {} · attempts {} · {}</div>",
            (
                (
                    link(admin_url(OutboxEmail, row.pk), row.created_at),
                    row.kind,
                    row.to,
                    row.status,
                    row.attempts,
                    row.last_error or "",
                )
                for row in rows
            ),
        )
