"""Celery is optional (the ``celery`` extra): without it hankoflow imports, starts and sends its
emails in-process, and ``/health/ready`` asks no broker.

A fresh interpreter with ``celery`` (and kombu) blocked by a meta-path finder, as in a host that
never installed them, and hankoflow's app alone in Django's settings.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

CHILD = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys

    class NoCelery:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {"celery", "kombu"}:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoCelery())

    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY="no-celery-test-secret-key-0123456789abcdefghijkl",
        INSTALLED_APPS=[
            "django.contrib.auth", "django.contrib.contenttypes", "rest_framework", "hankoflow",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        ROOT_URLCONF="hankoflow.urls",
        ALLOWED_HOSTS=["testserver"],
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        TEMPLATES=[
            {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}
        ],
    )
    django.setup()

    import hankoflow
    # Every module but the tasks and the pytest plugin imports without Celery (the admin pages
    # only where django.contrib.admin is installed, which Django's autodiscovery respects).
    skipped = ("hankoflow.testing", "hankoflow.admin")
    for module in pkgutil.walk_packages(hankoflow.__path__, "hankoflow."):
        if module.name != "hankoflow.tasks" and not module.name.startswith(skipped):
            importlib.import_module(module.name)

    from django.core import mail as django_mail
    from django.core.management import call_command
    from django.db import transaction
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the locmem outbox
    call_command("migrate", verbosity=0)
    call_command("check", fail_level="WARNING")

    from hankoflow.services import mail

    with transaction.atomic():
        mail.queue("login", to="jane@example.com", language="de", context={},
                   secret={"code": "314159"})
        before_commit = len(django_mail.outbox)

    ready = Client().get("/health/ready")
    print(json.dumps({
        "celery_loaded": sorted(m for m in sys.modules if m.split(".")[0] in {"celery", "kombu"}),
        "mode": mail.delivery_mode(mail.celery_app()),
        "before_commit": before_commit,
        "subjects": [m.subject for m in django_mail.outbox],
        "ready": [ready.status_code, ready.json()],
    }))
    """
)


def test_hankoflow_works_and_sends_inline_without_celery():
    result = subprocess.run(
        [sys.executable, "-c", CHILD],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PATH": "", "PYTHONPATH": str(REPO)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])

    assert report["celery_loaded"] == []
    assert report["mode"] == "inline"
    assert report["before_commit"] == 0
    assert report["subjects"] == ["314159 ist Ihr Anmeldecode für Hanko Authentication Service"]
    assert report["ready"] == [200, {"ready": True}]
