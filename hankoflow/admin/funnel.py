"""The sign-in funnel: an admin page at ``/admin/hankoflow/funnel/``.

For the flows created in a chosen period, per flow and state: how many flows entered the state,
moved on from it, failed there (by error code) and were abandoned there (still in it when the
flow expired); and passkey adoption: the share of sign-ins by method (the audit log's
``login_success`` entries) and the share of accounts with a passkey.

Everything is counted by the database in four queries, whatever the number of flows: the steps
come from each flow's ``history`` JSON, unnested with ``jsonb_array_elements`` on PostgreSQL and
``json_each`` on SQLite. ``history`` keeps a flow's last 100 steps, so a flow longer than that
counts only its last ones.

The page is added to the default admin site's URLs (``admin.site.get_urls`` wrapped once, below)
rather than through a proxy model: a proxy model needs a migration and brings a permission of
its own to hand out, while this page is only a view over flows and audit entries. So it asks for
the permissions that already exist: ``view_flow`` and ``view_auditlogentry``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import connections, router
from django.db.models import Count, Q
from django.db.models.fields.json import KT
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from hankoflow import clock
from hankoflow.models import Account, AuditLogEntry, Flow
from hankoflow.services import audit, flow_inspection
from hankoflow.services.sessions.reauthentication import REAUTHENTICATION_CONTEXT

DEFAULT_DAYS = 7
PERMISSIONS = ("hankoflow.view_flow", "hankoflow.view_auditlogentry")


@dataclass
class StateRow:
    flow: str
    state: str
    entered: int = 0
    moved_on: int = 0
    failed: dict[str, int] = field(default_factory=dict)  # error code -> flows
    in_progress: int = 0
    abandoned: int = 0


@dataclass
class Funnel:
    start: datetime
    end: datetime
    states: list[StateRow]
    logins_by_method: dict[str, int]
    accounts: int
    accounts_with_passkey: int

    @property
    def logins(self) -> int:
        return sum(self.logins_by_method.values())

    def login_shares(self) -> list[tuple[str, int, float]]:
        total = self.logins or 1
        return [(m, n, n / total) for m, n in sorted(self.logins_by_method.items())]

    @property
    def passkey_share(self) -> float:
        return self.accounts_with_passkey / self.accounts if self.accounts else 0.0


# Per (flow, state): flows that entered it (a step into it from elsewhere, or the first state),
# flows that left it for another state, and flows with a failed step there, by error code.
_STEPS_SQL = """
WITH steps AS (
    SELECT f.id AS flow_id, f.name AS flow, {src} AS src, {dst} AS dst, {err} AS err
    FROM hankoflow_flow f CROSS JOIN {elements}
    WHERE f.created_at >= %s AND f.created_at < %s
)
SELECT 'entered', flow, dst, NULL, COUNT(DISTINCT flow_id) FROM steps
    WHERE src IS NULL OR src <> dst GROUP BY flow, dst
UNION ALL
SELECT 'moved_on', flow, src, NULL, COUNT(DISTINCT flow_id) FROM steps
    WHERE src IS NOT NULL AND src <> dst GROUP BY flow, src
UNION ALL
SELECT 'failed', flow, src, err, COUNT(DISTINCT flow_id) FROM steps
    WHERE err IS NOT NULL GROUP BY flow, src, err
"""

_DIALECTS = {
    "postgresql": {
        "elements": "jsonb_array_elements(f.history) e",
        "src": "e ->> 'from'",
        "dst": "e ->> 'to'",
        "err": "e ->> 'error'",
    },
    "sqlite": {
        "elements": "json_each(f.history) e",
        "src": "json_extract(e.value, '$.from')",
        "dst": "json_extract(e.value, '$.to')",
        "err": "json_extract(e.value, '$.error')",
    },
}


def compute(start: datetime, end: datetime) -> Funnel:
    """The funnel of the flows created in ``[start, end)`` and the sign-ins in that period."""
    rows: dict[tuple[str, str], StateRow] = {}

    def row(flow: str, state: str) -> StateRow:
        return rows.setdefault((flow, state), StateRow(flow, state))

    for kind, flow, state, error, count in _step_counts(start, end):
        if state is None:
            continue  # an early error before any state (start failed)
        if kind == "failed":
            row(flow, state).failed[error] = count
        else:
            setattr(row(flow, state), kind, count)

    now = clock.now()
    in_progress = flow_inspection.outcome_filter(flow_inspection.IN_PROGRESS, now)
    abandoned = flow_inspection.outcome_filter(flow_inspection.EXPIRED, now)
    current = (
        Flow.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("name", "state")
        .annotate(
            in_progress=Count("pk", filter=in_progress),
            abandoned=Count("pk", filter=abandoned),
        )
        .order_by()
    )
    for values in current:
        item = row(values["name"], values["state"])
        item.in_progress, item.abandoned = values["in_progress"], values["abandoned"]

    logins = (
        AuditLogEntry.objects.filter(
            type=audit.LOGIN_SUCCESS, created_at__gte=start, created_at__lt=end
        )
        # A re-authentication in the profile is no sign-in. (The isnull term keeps entries
        # without a context: SQL's NULL would drop them from a bare exclude.)
        .exclude(Q(details__context=REAUTHENTICATION_CONTEXT) & Q(details__context__isnull=False))
        .values(method=KT("details__login_method"))
        .annotate(n=Count("pk"))
        .order_by()
    )
    accounts = Account.objects.aggregate(
        total=Count("pk", distinct=True),
        with_passkey=Count("pk", filter=Q(webauthn_credentials__mfa_only=False), distinct=True),
    )
    return Funnel(
        start=start,
        end=end,
        states=sorted(rows.values(), key=lambda r: (r.flow, -r.entered, r.state)),
        logins_by_method={(item["method"] or "unknown"): item["n"] for item in logins},
        accounts=accounts["total"],
        accounts_with_passkey=accounts["with_passkey"],
    )


def _step_counts(start: datetime, end: datetime) -> list[tuple[Any, ...]]:
    alias = router.db_for_read(Flow)
    connection = connections[alias]
    dialect = _DIALECTS.get(connection.vendor)
    if dialect is None:
        return []  # another database: the step columns stay empty, the rest still shows
    with connection.cursor() as cursor:
        cursor.execute(_STEPS_SQL.format(**dialect), [start, end])
        return list(cursor.fetchall())


# --- the admin page ------------------------------------------------------------------------------


def period_of(request: HttpRequest) -> tuple[datetime, datetime]:
    """``?start=YYYY-MM-DD&end=YYYY-MM-DD`` (end inclusive); the last 7 days by default.

    A malformed date falls back to the default instead of failing the page.
    """
    today = timezone.localdate(clock.now())

    def day(name: str, default: date) -> date:
        try:
            return date.fromisoformat(request.GET.get(name, ""))
        except ValueError:
            return default

    last = day("end", today)
    first = day("start", last - timedelta(days=DEFAULT_DAYS - 1))
    if first > last:
        first = last
    tz = timezone.get_current_timezone()
    start = datetime.combine(first, time.min, tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


def funnel_view(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perms(PERMISSIONS):
        raise PermissionDenied
    notice = flow_inspection.elsewhere()
    if notice:
        messages.warning(request, notice)
    start, end = period_of(request)
    funnel = compute(start, end)
    context = {
        **admin.site.each_context(request),
        "title": "Sign-in funnel",
        "funnel": funnel,
        "first_day": start.date(),
        "last_day": (end - timedelta(days=1)).date(),
    }
    return TemplateResponse(request, "hankoflow/admin/funnel.html", context)


def _with_funnel(get_urls: Any) -> Any:
    def urls() -> list[Any]:
        view = admin.site.admin_view(funnel_view)
        return [path("hankoflow/funnel/", view, name="hankoflow_funnel"), *get_urls()]

    return urls


admin.site.get_urls = _with_funnel(admin.site.get_urls)  # type: ignore[method-assign]
