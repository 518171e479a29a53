"""How a committed delivery is handed to ``deliver()``: through Celery or in this process, as
the email outbox does (``services/mail/dispatch.py``; ``EMAIL_DELIVERY.MODE`` decides for both).

``"celery"`` publishes ``hankoflow.send_webhook`` with a bounded publish whose failure is only
logged (the row stays pending; the sweeper sends it). ``"inline"`` calls ``deliver()`` right
after the commit, so the request waits for the receiver (up to ``WEBHOOKS.TIMEOUT``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hankoflow.conf import settings
from hankoflow.services.webhooks.delivery import deliver

if TYPE_CHECKING:
    from celery import Celery

logger = logging.getLogger(__name__)

SEND_TASK = "hankoflow.send_webhook"  # hankoflow/tasks.py
# As the email outbox: one quick retry of the publish, then the sweeper's turn.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2,
                        "interval_max": 0.2}  # fmt: skip


def celery_app() -> Celery | None:
    """Celery's current app, or None when Celery is not installed."""
    try:
        from celery import current_app
    except ImportError:
        return None
    return current_app._get_current_object()


def uses_celery(app: Celery | None) -> bool:
    """``EMAIL_DELIVERY.MODE``, with ``"auto"`` meaning: Celery when its app has a broker or
    runs tasks eagerly."""
    mode = settings.EMAIL_DELIVERY.MODE
    if mode != "auto":
        return mode == "celery"
    if app is None:
        return False
    conf = app.conf
    return bool(conf.task_always_eager or conf.broker_url or conf.broker_write_url)


def send_after_commit(delivery_id: str) -> None:
    """Hand a committed delivery on (a ``transaction.on_commit`` callback): never raises."""
    app = celery_app()
    if uses_celery(app):
        try:
            if app is None:
                raise RuntimeError("EMAIL_DELIVERY.MODE is 'celery' but Celery is not installed")
            task = app.tasks[SEND_TASK]
            task.apply_async((delivery_id,), retry=True, retry_policy=PUBLISH_RETRY_POLICY)
        except Exception:  # broker down, or (eager) anything the send raised
            logger.warning(
                "Could not hand webhook delivery %s to Celery; the sweeper will send it.",
                delivery_id,
                exc_info=True,
            )
        return
    try:
        deliver(delivery_id)
    except Exception:  # the change has committed: its answer must not turn into a 500
        logger.exception("Could not send webhook delivery %s; the sweeper will.", delivery_id)
