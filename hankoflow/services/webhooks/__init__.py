"""Webhooks (platform.md §5): events emitted where changes happen, delivered to the hooks that
want them, signed with the session key.

Modules: events.py (the catalogue and prefix matching), sources.py (database and settings
hooks), payloads.py (the ``data`` of each event), outbox.py (``emit``: one ``WebhookDelivery``
per hook, in the caller's transaction), dispatch.py (Celery or in-process after the commit),
delivery.py (one attempt, retries, the hooks' failure bookkeeping, the sweeper), signing.py (the
JWT body), network.py (the server-side request forgery guard and the pinned POST),
emitters.py (one function per kind of event, for the call sites), registry.py (database hooks
as the admin API manages them).
"""

from hankoflow.services.webhooks import events, registry
from hankoflow.services.webhooks.delivery import (
    MAX_FAILURES,
    SWEEP_AFTER,
    SWEEP_BATCH,
    Delivery,
    SweepResult,
    deliver,
    retry_delay,
    sweep,
)
from hankoflow.services.webhooks.dispatch import SEND_TASK
from hankoflow.services.webhooks.emitters import (
    email_sent,
    session_created,
    session_ended,
    user_changed,
    user_deleted,
)
from hankoflow.services.webhooks.outbox import emit, requeue
from hankoflow.services.webhooks.sources import LIFETIME, config_hooks, renewed_expiry

__all__ = [
    "LIFETIME",
    "MAX_FAILURES",
    "SEND_TASK",
    "SWEEP_AFTER",
    "SWEEP_BATCH",
    "Delivery",
    "SweepResult",
    "config_hooks",
    "deliver",
    "email_sent",
    "emit",
    "events",
    "registry",
    "renewed_expiry",
    "requeue",
    "retry_delay",
    "session_created",
    "session_ended",
    "sweep",
    "user_changed",
    "user_deleted",
]
