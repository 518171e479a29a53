"""Celery tasks of hankoflow (Celery is optional: the ``celery`` extra).

The app imports this module when Django starts only if Celery is installed; without it emails
are sent in the web process (``EMAIL_DELIVERY.MODE``, hankoflow/services/mail/dispatch.py).

``ping`` is the liveness probe used by ``/health/ready`` and by the tests: a
worker that answers it is consuming from the broker and can store results.

``send_outbox_email`` and ``send_pending_outbox`` deliver the email outbox (platform.md §7,
security-checks.md RE-03…RE-05) when ``EMAIL_DELIVERY.MODE`` resolves to ``celery``;
the logic lives in ``hankoflow.services.mail``. Run
``send_pending_outbox`` every minute with Celery beat, e.g. in Django settings::

    CELERY_BEAT_SCHEDULE = {
        "hankoflow-send-pending-outbox": {
            "task": "hankoflow.send_pending_outbox",
            "schedule": 60.0,
            "options": {"expires": 55},
        },
    }

or ``manage.py hankoflow_send_outbox`` from cron. Webhooks work the same way:
``send_webhook`` (one delivery, retried with backoff) and the sweeper ``send_pending_webhooks``
(``manage.py hankoflow_send_webhooks``), logic in ``hankoflow.services.webhooks``. The tasks
are safe to run twice at once: each row is sent under a row lock. Use ``task_acks_late`` and
``task_reject_on_worker_lost`` (the demo does) so that a worker killed mid-send hands the task
on.

The app registers these tasks when Django starts (``HankoflowConfig.ready``), so a web process
can publish them without the worker's autodiscovery. They import the mail service when they run:
loading the app stays light, and the service never imports this module (it publishes by name).
"""

import functools
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

from celery import current_task, shared_task

F = TypeVar("F", bound=Callable[..., Any])


def _with_request_id(function: F) -> F:
    """Log lines of the task carry a request id: its task id, or a fresh one (log_context.task)."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        from hankoflow.http import log_context  # when it runs: the app loads no layer above models

        request = getattr(current_task, "request", None)
        eager = bool(getattr(request, "is_eager", False))
        with log_context.task(getattr(request, "id", None), eager=eager):
            return function(*args, **kwargs)

    return run  # type: ignore[return-value]


@shared_task(name="hankoflow.ping")
@_with_request_id
def ping() -> str:
    """Return ``"pong"``; proves that a worker picked the task up."""
    return "pong"


@shared_task(bind=True, name="hankoflow.send_outbox_email", ignore_result=True, max_retries=None)
@_with_request_id
def send_outbox_email(self, outbox_id: str) -> str:
    """Send one outbox row; a transient failure is retried with backoff (the row counts tries)."""
    from hankoflow.services import mail

    delivery = mail.deliver(outbox_id)
    # Eager (in-process) runs do not wait in a request for a backoff: the sweeper retries.
    if delivery.retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=delivery.retry_in)
    return delivery.outcome


@shared_task(name="hankoflow.send_pending_outbox", ignore_result=True)
@_with_request_id
def send_pending_outbox() -> dict[str, int]:
    """The sweeper: send the pending rows older than 30 s whose retry is due (the email of a
    passcode that died meanwhile is closed unsent)."""
    from hankoflow.services import mail

    return asdict(mail.sweep())


@shared_task(bind=True, name="hankoflow.send_webhook", ignore_result=True, max_retries=None)
@_with_request_id
def send_webhook(self, delivery_id: str) -> str:
    """Make one attempt at a webhook delivery; a failure is retried with backoff (the row
    counts attempts, ``WEBHOOKS.RETRY``)."""
    from hankoflow.services import webhooks

    delivery = webhooks.deliver(delivery_id)
    # Eager (in-process) runs do not wait in a request for a backoff: the sweeper retries.
    if delivery.retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=delivery.retry_in)
    return delivery.outcome


@shared_task(name="hankoflow.send_pending_webhooks", ignore_result=True)
@_with_request_id
def send_pending_webhooks() -> dict[str, int]:
    """The webhook sweeper: attempt the pending deliveries older than 30 s whose retry is due
    (run it every minute, as ``send_pending_outbox``)."""
    from hankoflow.services import webhooks

    return asdict(webhooks.sweep())


@shared_task(name="hankoflow.cleanup", ignore_result=True)
@_with_request_id
def cleanup() -> dict[str, int]:
    """Delete the rows that no longer matter (``manage.py hankoflow_cleanup``); run it hourly."""
    from hankoflow.services import cleanup as service

    return service.run()


@shared_task(name="hankoflow.rotate_signing_key", ignore_result=True)
@_with_request_id
def rotate_signing_key() -> str | None:
    """Rotate the session signing key once it is ``SESSION.KEY_ROTATION.INTERVAL`` old and
    retire keys whose tokens have all expired; the new key's kid, or None. Run it hourly."""
    from hankoflow.services import jwks

    row = jwks.rotate_if_due()
    return row.kid if row is not None else None
