"""Celery application of the hankoflow project.

The worker is started with ``celery -A project worker`` (see ``bin/services``).
Settings named ``CELERY_*`` in Django's settings configure it, and tasks are
found in the ``tasks`` modules of the installed apps.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

app = Celery("project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
