"""Settings for ``bin/bench``: the project's own, plus the bench-only routes.

DEBUG is forced off (also in hankoflow's settings, which copy it), and nothing is logged per
request: gunicorn runs without an access log, hankoflow logs only warnings and ``django.request``
only server errors (4xx answers would otherwise log one warning each).
"""

from project.settings import *  # noqa: F403
from project.settings import HANKOFLOW

DEBUG = False
HANKOFLOW = {**HANKOFLOW, "DEBUG": False}

ROOT_URLCONF = "bench.urls"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "hankoflow": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
