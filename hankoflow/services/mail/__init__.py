"""Emails through an outbox (platform.md §7, security-checks.md RE-03…RE-05, PC-01, PC-07, PC-08).

A flow step writes its email to the outbox in its own transaction; after the commit the email
is sent through Celery or in the web process, and a sweeper sends what is still pending:

* ``outbox``: ``queue()`` writes the row (the code encrypted) and hands it on after the commit;
* ``dispatch``: ``EMAIL_DELIVERY.MODE`` — publish to Celery, or send in-process right away;
* ``delivery``: ``deliver()`` sends one row under a row lock through the adapter's
  ``send_mail``, with retries and backoff; ``sweep()`` sends the pending rows that are due;
* ``encryption``: the row's secret (the code) while it waits.

What an email says (kinds, languages, templates) is ``hankoflow.emails``; how it leaves is the
adapter's ``send_mail`` (hankoflow/adapter.py). The names below are the package's public API.
"""

from hankoflow.emails import CODE_KINDS, KINDS, NOTICE_KINDS, language_for
from hankoflow.services.mail.delivery import (
    MAX_ATTEMPTS,
    RETRY_BASE_DELAY,
    RETRY_MAX_DELAY,
    SWEEP_AFTER,
    SWEEP_BATCH,
    Delivery,
    SweepResult,
    deliver,
    mail_context,
    passcode_dedupe_key,
    sweep,
)
from hankoflow.services.mail.dispatch import SEND_TASK, celery_app, delivery_mode
from hankoflow.services.mail.outbox import queue, requeue, ttl_minutes

__all__ = [
    "CODE_KINDS",
    "KINDS",
    "MAX_ATTEMPTS",
    "NOTICE_KINDS",
    "RETRY_BASE_DELAY",
    "RETRY_MAX_DELAY",
    "SEND_TASK",
    "SWEEP_AFTER",
    "SWEEP_BATCH",
    "Delivery",
    "SweepResult",
    "celery_app",
    "deliver",
    "delivery_mode",
    "language_for",
    "mail_context",
    "passcode_dedupe_key",
    "queue",
    "requeue",
    "sweep",
    "ttl_minutes",
]
