"""A web process publishes the outbox task by name: the app must have registered it."""

import subprocess
import sys

from hankoflow.services import mail


def test_a_web_process_knows_the_send_task_without_the_workers_autodiscovery():
    # A fresh interpreter, as a web worker starts: only django.setup(), no Celery worker boot
    # (whose autodiscovery would import hankoflow.tasks for us).
    code = (
        "import django; django.setup();"
        "from celery import current_app;"
        f"print({mail.SEND_TASK!r} in current_app.tasks)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": ""},
        check=True,
    )
    assert out.stdout.strip().splitlines()[-1] == "True"
