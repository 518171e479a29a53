"""Celery tasks of hankoflow.

``ping`` is the liveness probe used by ``/health/ready`` and by the tests: a
worker that answers it is consuming from the broker and can store results.
"""

from celery import shared_task


@shared_task(name="hankoflow.ping")
def ping() -> str:
    """Return ``"pong"``; proves that a worker picked the task up."""
    return "pong"
