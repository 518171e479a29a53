"""hankoflow with custom user models: the account services run again under other settings.

``AUTH_USER_MODEL`` cannot change inside one process, so this starts pytest twice in
subprocesses (in parallel): with ``custom_user.EmailUser`` (UUID key, email as login, no
username) and ``custom_user.HandleUser`` (integer key, 20-character handle, no email column).
Each runs tests/services/test_accounts.py, test_passwords.py, custom_user_checks.py and
last_login_checks.py.
Run one by hand with
``pytest --ds=tests.custom_user.settings tests/custom_user/custom_user_checks.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ["tests.custom_user.settings", "tests.custom_user.settings_handle"]
TESTS = [
    "tests/services/test_accounts.py",
    "tests/services/test_passwords.py",
    "tests/custom_user/custom_user_checks.py",
    "tests/custom_user/last_login_checks.py",
]


def test_services_work_with_custom_user_models():
    env = {
        k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTEST_ADDOPTS")
    }
    # The two runs are parallel and every test clears the cache: a shared Redis would let one
    # run wipe the other's rate-limit and attempt counters mid-test. Each gets its own memory.
    env["CACHE_URL"] = "locmemcache://"
    runs = {
        module: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--ds={module}",
                *TESTS,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for module in SETTINGS
    }
    failures = []
    for module, process in runs.items():
        output, _ = process.communicate(timeout=300)
        if process.returncode != 0:
            failures.append(f"--- {module} (exit {process.returncode}) ---\n{output[-6000:]}")
    assert not failures, "\n".join(failures)
