"""Settings for ``bin/bench``: the project's own, plus the bench-only routes and switches.

DEBUG is forced off (also in hankoflow's settings, which copy it), and nothing is logged per
request: gunicorn runs without an access log, hankoflow logs only warnings and ``django.request``
only server errors (4xx answers would otherwise log one warning each).

Bench-only switches, each so the login chains measure the framework, not a deployment choice:

* ``PASSWORD_HASHERS``: MD5, BENCH ONLY, never in production. The password chain's figure is
  the framework's cost (flow steps, SQL, session issuance); with Argon2 it would mostly measure
  Argon2 (tens of ms per hash, by design). The bench's users are created with this hasher.
* ``RATE_LIMITER.ENABLED`` off: Hanko's limits (5 password tries and 3 passcode emails per
  minute per client IP + identifier) would turn the bench's many logins from 127.0.0.1 into 429
  answers. What the limiter costs is one cache ``add`` + ``incr`` per ``password_login`` and
  per passcode email (in-process on the SQLite run, two Redis round trips on the PostgreSQL
  one), outside the database and the flow engine; with it off the bench also writes no keys to
  the developer's Redis.
* Celery runs tasks eagerly, with no broker: the passcode email is sent in the request, right
  after the step commits (the outbox's on-commit hook), so the chain can read it at once. That
  puts rendering and sending the email inside the measured request; with a real worker the
  request only publishes a task.
* ``EMAIL_BACKEND``: ``bench.mail.CodeFileBackend`` keeps the last code per address in
  ``BENCH_MAIL_DIR`` (a file per address), where the load generator reads it.
"""

from project.settings import *  # noqa: F403
from project.settings import HANKOFLOW

DEBUG = False
HANKOFLOW = {
    **HANKOFLOW,
    "DEBUG": False,
    "RATE_LIMITER": {"ENABLED": False},  # see above
}

ROOT_URLCONF = "bench.urls"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # BENCH ONLY, see above

CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"  # never contacted: every task runs eagerly
CELERY_RESULT_BACKEND = None

EMAIL_BACKEND = "bench.mail.CodeFileBackend"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "hankoflow": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
