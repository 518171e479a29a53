"""How a committed outbox row is handed to ``deliver()``: through Celery or in this process
(platform.md §7, security-checks.md RE-03, RE-05).

``EMAIL_DELIVERY.MODE`` decides, and this module is the one place that reads it:

* ``"celery"``: publish the task ``hankoflow.send_outbox_email`` through Celery's current app
  (the host's). The publish is bounded and its failure only logged: the row stays pending and
  the sweeper sends it later. With ``task_always_eager`` the email is sent here and now, as
  inline (what the task would do, without Celery's tracing around it).
* ``"inline"``: call ``deliver()`` in this process right after the commit (the web request that
  committed the step waits for the mail server). A transient failure leaves the row pending
  for ``manage.py hankoflow_send_outbox`` (cron) or the beat task.
* ``"auto"`` (the default): ``"celery"`` when Celery is installed and its current app has a
  broker or runs tasks eagerly, else ``"inline"``. A host without Celery, or whose Django
  settings say ``CELERY_TASK_ALWAYS_EAGER`` while no Celery app reads them, sends inline.

Celery is an optional dependency (the ``celery`` extra): it is imported only here, lazily.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

from hankoflow.conf import settings
from hankoflow.services.mail.delivery import deliver

if TYPE_CHECKING:
    from celery import Celery

logger = logging.getLogger(__name__)

Mode = Literal["celery", "inline"]
AUTO = "auto"
CELERY: Mode = "celery"
INLINE: Mode = "inline"

SEND_TASK = "hankoflow.send_outbox_email"  # the Celery task's name (hankoflow/tasks.py)
# Publishing to the broker: one quick retry, then give up (CELERY_BROKER_CONNECTION_TIMEOUT
# bounds each connection attempt); the sweeper is the fallback.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2,
                        "interval_max": 0.2}  # fmt: skip


def celery_app() -> Celery | None:
    """Celery's current app (the host's, once its module is imported; else Celery's own
    fallback app), or None when Celery is not installed."""
    try:
        from celery import current_app
    except ImportError:
        return None
    return current_app._get_current_object()


def can_publish(app: Celery | None) -> bool:
    """Whether ``app`` can take a task: it has a broker, or runs tasks eagerly in-process."""
    if app is None:
        return False
    conf = app.conf
    return bool(conf.task_always_eager or conf.broker_url or conf.broker_write_url)


def delivery_mode(app: Celery | None) -> Mode:
    """``"celery"`` or ``"inline"``: ``EMAIL_DELIVERY.MODE``, with ``"auto"`` resolved against
    ``app`` (pass ``celery_app()``)."""
    configured = settings.EMAIL_DELIVERY.MODE
    if configured != AUTO:
        return configured
    return CELERY if can_publish(app) else INLINE


def send_after_commit(outbox_id: str, passcode_id: str | None = None) -> None:
    """Hand a committed row on (a ``transaction.on_commit`` callback): never raises.

    ``passcode_id``: the passcode the email carries (``deliver`` checks it with the claim).
    """
    app = celery_app()
    if delivery_mode(app) == CELERY and not (app is not None and app.conf.task_always_eager):
        _publish(app, outbox_id)
    else:
        _send_inline(outbox_id, passcode_id)


def _publish(app: Celery | None, outbox_id: str) -> None:
    # Looked up by name in the app's registry (hankoflow's app config registers hankoflow/tasks.py
    # when Django starts), so the services never import the task module that imports them.
    try:
        if app is None:
            raise RuntimeError("EMAIL_DELIVERY.MODE is 'celery' but Celery is not installed")
        task = app.tasks[SEND_TASK]
        task.apply_async((outbox_id,), retry=True, retry_policy=PUBLISH_RETRY_POLICY)
    except Exception:  # broker down, or (eager) anything the send raised: the sweeper retries
        logger.warning(
            "Could not hand outbox email %s to Celery; the sweeper will send it.",
            outbox_id,
            exc_info=True,
        )


def _send_inline(outbox_id: str, passcode_id: str | None = None) -> None:
    try:
        if passcode_id is None:
            deliver(outbox_id)
        else:
            deliver(outbox_id, passcode_id=passcode_id)
    except Exception:  # the step has committed: its answer must not turn into a 500
        logger.exception(
            "Could not send outbox email %s in-process; the sweeper will send it.", outbox_id
        )
