"""Reading stored flows for operators: outcome, timeline, redacted stash, the emails sent.

Shared by the admin's flow pages and ``manage.py hankoflow_flows``. Nothing here writes.
The outcome is derived from the state and the expiry, so no column has to be kept in step.
With the Redis flow store the table holds no flows: lists say so (``elsewhere()``), and one flow
can still be read by its id (``stored()``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from hankoflow import clock, names
from hankoflow.models import Account, Flow, OutboxEmail, Passcode
from hankoflow.services import flow_store
from hankoflow.services.mail.delivery import passcode_dedupe_key

IN_PROGRESS = "in_progress"
SUCCEEDED = "succeeded"
FAILED = "failed"
EXPIRED = "expired"
OUTCOMES = {
    IN_PROGRESS: "in progress",
    SUCCEEDED: "succeeded",
    FAILED: "failed",
    EXPIRED: "expired",
}


def elsewhere() -> str | None:
    """Why the flow table shows no flows, when it is because they live in Redis."""
    if flow_store.in_database():
        return None
    return (
        'Flows are kept in Redis (HANKOFLOW["FLOW_STORE"] = "redis"), not in the database: '
        "lists, filters and the funnel show no flows. One flow can be read by its id with "
        "manage.py hankoflow_flows show FLOW_ID."
    )


def stored(flow_id: str) -> Flow | None:
    """One flow, from wherever the configured store keeps it (an unsaved ``Flow`` for Redis)."""
    if flow_store.in_database():
        return Flow.objects.select_related("user").filter(id=flow_id).first()
    record = flow_store.configured_store().peek(flow_id)
    if record is None:
        return None
    account_id = flow_store.account_id_of(record.stash)
    account = Account.objects.select_related("user").filter(pk=account_id).first()
    started = (record.history or [{}])[0].get("at")
    return Flow(
        id=record.id,
        name=record.flow_name,
        state=record.stash.state,
        stash=record.stash.to_dict(),
        csrf_token_hash=record.csrf_token_hash,
        version=record.version,
        language=record.facts.get("language", ""),
        user=account.user if account else None,
        history=record.history,
        created_at=datetime.fromisoformat(started) if started else None,
        updated_at=None,
        expires_at=record.expires_at,
    )


def outcome_filter(outcome: str, now: datetime | None = None) -> Q:
    """The rows with ``outcome``; a finished flow keeps its outcome after it expires."""
    now = now or clock.now()
    succeeded = Q(state=names.STATE_SUCCESS)
    failed = Q(state=names.STATE_ERROR)
    finished = succeeded | failed
    return {
        SUCCEEDED: succeeded,
        FAILED: failed,
        EXPIRED: ~finished & Q(expires_at__lte=now),
        IN_PROGRESS: ~finished & Q(expires_at__gt=now),
    }[outcome]


def outcome_of(flow: Flow, now: datetime | None = None) -> str:
    if flow.state == names.STATE_SUCCESS:
        return SUCCEEDED
    if flow.state == names.STATE_ERROR:
        return FAILED
    return EXPIRED if flow.expires_at <= (now or clock.now()) else IN_PROGRESS


def redact_stash(data: dict[str, Any]) -> dict[str, Any]:
    """The stash's data as an operator may see it: secrets replaced by ``[redacted]``.

    Listed keys decide; an unknown key shows only a flag, a number or nothing, since a string
    or structure under a new name may well be a token or ciphertext.
    """
    shown: dict[str, Any] = {}
    for key, value in sorted(data.items()):
        if key in names.STASH_REDACTED:
            visible = False
        elif key in names.STASH_SHOWN:
            visible = True
        else:
            visible = value is None or isinstance(value, bool | int | float)
        shown[key] = value if visible else names.REDACTED
    return shown


@dataclass(frozen=True)
class Step:
    """One row of a flow's timeline."""

    at: str
    from_state: str
    action: str
    inputs: str
    to_state: str
    error: str
    ip: str
    user_agent: str


def timeline(flow: Flow) -> list[Step]:
    """The flow's recorded steps, oldest first (entries written before the fields existed
    show blanks)."""
    steps = []
    for entry in flow.history or []:
        steps.append(
            Step(
                at=str(entry.get("at") or ""),
                from_state=str(entry.get("from") or "-"),
                action=str(entry.get("action") or "(start)"),
                inputs=", ".join(str(name) for name in entry.get("inputs") or []),
                to_state=str(entry.get("to") or ""),
                error=str(entry.get("error") or ""),
                ip=str(entry.get("ip") or ""),
                user_agent=str(entry.get("user_agent") or ""),
            )
        )
    return steps


def emails_of(flow: Flow) -> QuerySet[OutboxEmail]:
    """The passcode emails this flow queued, linked through each passcode's dedupe key."""
    passcode_ids = Passcode.objects.filter(flow_id=flow.id).values_list("id", flat=True)
    keys = [passcode_dedupe_key(str(pk)) for pk in passcode_ids]
    return OutboxEmail.objects.filter(dedupe_key__in=keys).order_by("created_at")


def recent(
    *,
    name: str | None = None,
    state: str | None = None,
    outcome: str | None = None,
    user: Any = None,
) -> QuerySet[Flow]:
    """Flows newest first, narrowed by the given filters."""
    rows = Flow.objects.select_related("user").order_by("-created_at")
    if name:
        rows = rows.filter(name=name)
    if state:
        rows = rows.filter(state=state)
    if outcome:
        rows = rows.filter(outcome_filter(outcome))
    if user is not None:
        rows = rows.filter(user=user)
    return rows
