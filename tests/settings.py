"""Settings for the test suite: the demo project's, with a throwaway secret.

Services come from the same environment variables as the demo (``bin/test`` points them at
PostgreSQL, Redis and a Celery worker); with none set the suite runs on SQLite, in-memory.
"""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-0123456789abcdefghijklmnop")
# The demo reads a local .env (bin/demo writes DEBUG=1 there): the suite runs as production does.
os.environ.setdefault("DEBUG", "0")

from project.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; never in production

# Flow tests read the mail a step sends from Django's outbox, so tasks run in-process even when
# bin/test provides a broker; tests of the real worker switch this off for themselves.
CELERY_TASK_ALWAYS_EAGER = True

# The race tests' server sends one address a passcode from fifty networks at once: they raise the
# per-address send limit (RATE_LIMITER.PASSCODE_EMAIL_LIMITS, PC-06) to test the attempt budget.
if _passcode_email_tokens := os.environ.get("HANKOFLOW_TEST_PASSCODE_EMAIL_TOKENS"):
    HANKOFLOW["RATE_LIMITER"] = {  # noqa: F405 (from project.settings)
        "PASSCODE_EMAIL_LIMITS": {"TOKENS": int(_passcode_email_tokens), "INTERVAL": 900}
    }
