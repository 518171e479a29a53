"""``manage.py check --deploy``: hankoflow's deploy checks (hankoflow/checks.py).

Each test starts from production-like settings, on which every check is silent, and changes the
one thing its check is about.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings as django_settings
from django.core.checks import CheckMessage, run_checks
from django.test import override_settings

from hankoflow import checks
from hankoflow.adapter import DefaultHankoflowAdapter
from hankoflow.middleware import HankoflowMiddleware
from hankoflow.services.mail import dispatch

REPO = Path(__file__).resolve().parent.parent

HANKOFLOW = {
    "CORS": {"ALLOW_ORIGINS": ["https://app.example.com"]},
    "WEBAUTHN": {
        "RELYING_PARTY": {
            "ID": "example.com",
            "ORIGINS": ["https://app.example.com", "https://example.com"],
        }
    },
}
REDIS = {
    "BACKEND": "django.core.cache.backends.redis.RedisCache",
    "LOCATION": "redis://127.0.0.1:6379/0",
}
LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
SMTP_EMAIL = "django.core.mail.backends.smtp.EmailBackend"
LOCMEM_EMAIL = "django.core.mail.backends.locmem.EmailBackend"


class ProjectMiddleware(HankoflowMiddleware):
    """A host's subclass counts as the middleware."""


def merged(**changes: dict) -> dict:
    from hankoflow.conf import merge

    return merge(HANKOFLOW, changes)


@pytest.fixture
def celery_app(monkeypatch: pytest.MonkeyPatch) -> Celery:
    """The host's Celery app as the checks see it: a broker, tasks not eager."""
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)  # Celery reads it before its conf
    app = Celery("host", set_as_current=False)
    app.conf.broker_url = "redis://127.0.0.1:6379/1"
    monkeypatch.setattr(dispatch, "celery_app", lambda: app)
    return app


@pytest.fixture
def production(celery_app: Celery) -> Iterator[None]:
    with override_settings(
        DEBUG=False, HANKOFLOW=HANKOFLOW, CACHES={"default": REDIS}, EMAIL_BACKEND=SMTP_EMAIL
    ):
        yield


def deploy_problems() -> list[CheckMessage]:
    return run_checks(include_deployment_checks=True, tags=["hankoflow"])


def deploy_ids() -> set[str]:
    return {problem.id for problem in deploy_problems()}


def test_silent_on_production_settings(production):
    assert deploy_problems() == []


def test_not_run_without_deploy(production):
    with override_settings(MIDDLEWARE=[], HANKOFLOW=merged(SESSION={"COOKIE": {"SECURE": False}})):
        assert run_checks(tags=["hankoflow"]) == []
        assert {"hankoflow.W010", "hankoflow.W013"} <= deploy_ids()


def test_every_problem_has_an_id_a_message_and_a_hint(production, celery_app):
    everything_wrong = merged(
        CORS={"ALLOW_ORIGINS": ["http://localhost:3000"]},
        WEBAUTHN={"RELYING_PARTY": {"ORIGINS": ["https://example.org", "http://example.com"]}},
        SESSION={"COOKIE": {"SECURE": False, "SAME_SITE": "none"}},
    )
    with override_settings(
        MIDDLEWARE=[],
        HANKOFLOW=everything_wrong,
        CACHES={"default": LOCMEM},
        EMAIL_BACKEND=LOCMEM_EMAIL,
    ):
        problems = deploy_problems()
    assert {p.id for p in problems} == {
        "hankoflow.W010",
        "hankoflow.W011",
        "hankoflow.W012",
        "hankoflow.W013",
        "hankoflow.E010",
        "hankoflow.W014",
        "hankoflow.W016",
        "hankoflow.W017",
    }
    for problem in problems:
        assert problem.msg and problem.hint, problem


# Middleware


def test_missing_middleware(production):
    without = [m for m in django_settings.MIDDLEWARE if "hankoflow" not in m]
    with override_settings(MIDDLEWARE=without):
        assert deploy_ids() == {"hankoflow.W010"}


def test_a_subclass_of_the_middleware_counts(production):
    with override_settings(MIDDLEWARE=[f"{__name__}.ProjectMiddleware"]):
        assert deploy_ids() == set()


# WebAuthn relying party


@pytest.mark.parametrize(
    "origin",
    [
        "https://app.example.org",
        "https://notexample.com",  # a suffix, but not at a label boundary
        "https://example.com.evil.net",
        "https://127.0.0.1",
    ],
)
def test_origin_outside_the_rp_id(production, origin):
    rp = {"ORIGINS": ["https://app.example.com", origin]}
    with override_settings(HANKOFLOW=merged(WEBAUTHN={"RELYING_PARTY": rp})):
        problems = deploy_problems()
    assert [p.id for p in problems] == ["hankoflow.W011"]
    assert origin in problems[0].msg


def test_rp_id_that_is_an_ip_address(production):
    rp = {"ID": "192.0.2.10", "ORIGINS": ["https://192.0.2.10"]}
    with override_settings(HANKOFLOW=merged(WEBAUTHN={"RELYING_PARTY": rp})):
        assert deploy_ids() == {"hankoflow.W011"}


def test_rp_checks_ignore_app_origins_and_case(production):
    rp = {"ID": "Example.com", "ORIGINS": ["https://APP.example.com", "android:apk-key-hash:abc"]}
    with override_settings(HANKOFLOW=merged(WEBAUTHN={"RELYING_PARTY": rp})):
        assert deploy_ids() == set()


def test_rp_checks_off_without_webauthn(production):
    off = merged(
        PASSKEY={"ENABLED": False},
        MFA={"SECURITY_KEYS": {"ENABLED": False}},
        WEBAUTHN={"RELYING_PARTY": {"ORIGINS": ["http://app.example.org"]}},
    )
    with override_settings(HANKOFLOW=off):
        assert deploy_ids() == set()


def test_plain_http_origin(production):
    rp = {"ORIGINS": ["http://app.example.com"]}
    with override_settings(HANKOFLOW=merged(WEBAUTHN={"RELYING_PARTY": rp})):
        assert deploy_ids() == {"hankoflow.W012"}


def test_http_localhost_is_a_secure_context(production):
    rp = {"ID": "localhost", "ORIGINS": ["http://localhost:8000", "http://app.localhost:8000"]}
    with override_settings(HANKOFLOW=merged(WEBAUTHN={"RELYING_PARTY": rp})):
        assert deploy_ids() == set()


# Session cookie


def test_insecure_cookie(production):
    with override_settings(HANKOFLOW=merged(SESSION={"COOKIE": {"SECURE": False}})):
        assert deploy_ids() == {"hankoflow.W013"}


def test_same_site_none_needs_secure(production):
    cookie = {"SECURE": False, "SAME_SITE": "none"}
    with override_settings(HANKOFLOW=merged(SESSION={"COOKIE": cookie})):
        assert deploy_ids() == {"hankoflow.W013", "hankoflow.E010"}
    with override_settings(HANKOFLOW=merged(SESSION={"COOKIE": {"SAME_SITE": "none"}})):
        assert deploy_ids() == set()


# Rate limiter cache


@pytest.mark.parametrize(
    ("backend", "check_id"),
    [
        ("django.core.cache.backends.locmem.LocMemCache", "hankoflow.W014"),
        ("django.core.cache.backends.dummy.DummyCache", "hankoflow.W015"),
    ],
)
def test_per_process_rate_limit_cache(production, backend, check_id):
    with override_settings(CACHES={"default": {"BACKEND": backend}}):
        assert deploy_ids() == {check_id}


def test_rate_limit_cache_alias_follows_the_setting(production):
    caches = {"default": LOCMEM, "limits": REDIS}
    with override_settings(CACHES=caches, HANKOFLOW=merged(RATE_LIMITER={"CACHE": "limits"})):
        assert deploy_ids() == set()
    with override_settings(HANKOFLOW=merged(RATE_LIMITER={"CACHE": "limits"})):
        assert deploy_ids() == {"hankoflow.E011"}


def test_rate_limit_cache_unchecked_when_limits_are_off(production):
    with override_settings(
        CACHES={"default": LOCMEM}, HANKOFLOW=merged(RATE_LIMITER={"ENABLED": False})
    ):
        assert deploy_ids() == set()


# Email delivery (W016): only when emails cannot leave


CELERY_MODE = {"EMAIL_DELIVERY": {"MODE": "celery"}}


def test_no_broker_sends_inline_and_is_fine(production, celery_app):
    celery_app.conf.broker_url = None
    # The host: Django settings say eager, but no Celery app reads them. "auto" sends
    # in-process then, so the emails leave.
    with override_settings(CELERY_TASK_ALWAYS_EAGER=True):
        assert deploy_ids() == set()


def test_no_celery_installed_sends_inline_and_is_fine(production, monkeypatch):
    monkeypatch.setattr(dispatch, "celery_app", lambda: None)
    assert deploy_ids() == set()


def test_celery_mode_without_a_broker(production, celery_app):
    celery_app.conf.broker_url = None
    with override_settings(HANKOFLOW=merged(**CELERY_MODE)):
        problems = deploy_problems()
    assert [p.id for p in problems] == ["hankoflow.W016"]
    assert "host" in problems[0].msg  # names the Celery app it looked at


def test_celery_mode_without_celery(production, monkeypatch):
    monkeypatch.setattr(dispatch, "celery_app", lambda: None)
    with override_settings(HANKOFLOW=merged(**CELERY_MODE)):
        assert deploy_ids() == {"hankoflow.W016"}


def test_celery_mode_with_a_broker_from_the_environment(production, celery_app, monkeypatch):
    celery_app.conf.broker_url = None
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/1")
    with override_settings(HANKOFLOW=merged(**CELERY_MODE)):
        assert deploy_ids() == set()


def test_celery_mode_with_eager_tasks_needs_no_broker(production, celery_app):
    celery_app.conf.broker_url = None
    celery_app.conf.task_always_eager = True
    with override_settings(HANKOFLOW=merged(**CELERY_MODE)):
        assert deploy_ids() == set()


@pytest.mark.parametrize("backend", ["console", "locmem", "dummy", "filebased"])
def test_email_backend_that_keeps_the_mail_here(production, backend):
    path = f"django.core.mail.backends.{backend}.EmailBackend"
    with override_settings(EMAIL_BACKEND=path):
        problems = deploy_problems()
        assert [p.id for p in problems] == ["hankoflow.W016"]
        assert path in problems[0].msg
        with override_settings(DEBUG=True):
            assert deploy_ids() == set()


class ApiMailAdapter(DefaultHankoflowAdapter):
    def send_mail(self, kind, to, context):
        """Sends through a mail API: EMAIL_BACKEND is not used."""


def test_email_backend_unused_when_the_adapter_sends(production):
    adapter = f"{__name__}.ApiMailAdapter"
    with override_settings(EMAIL_BACKEND=LOCMEM_EMAIL, HANKOFLOW=merged(ADAPTER=adapter)):
        assert deploy_ids() == set()


def test_nothing_to_check_when_delivery_is_off(production, celery_app):
    celery_app.conf.broker_url = None
    off = merged(EMAIL_DELIVERY={"ENABLED": False, "MODE": "celery"})
    with override_settings(HANKOFLOW=off, EMAIL_BACKEND=LOCMEM_EMAIL):
        assert deploy_ids() == set()


# CORS


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost:3000",
        "http://localhost:*",
        "https://app.localhost",
        "http://127.0.0.1:8000",
        "http://[::1]:8000",
    ],
)
def test_local_cors_origin_without_debug(production, origin):
    cors = {"ALLOW_ORIGINS": ["https://app.example.com", origin]}
    with override_settings(HANKOFLOW=merged(CORS=cors)):
        problems = deploy_problems()
        assert [p.id for p in problems] == ["hankoflow.W017"]
        assert origin in problems[0].msg
        with override_settings(DEBUG=True):
            assert deploy_ids() == set()


# Robustness


def test_invalid_settings_are_left_to_the_settings_checks(production):
    broken = {"WEBAUTHN": {"RELYING_PARTY": {"ORIGINS": "https://app.example.com"}}}
    with override_settings(HANKOFLOW=broken):
        assert deploy_problems() == []
        assert "hankoflow.E002" in {p.id for p in checks.check_settings()}


def test_the_demo_in_production_passes(tmp_path: Path):
    """The demo project with the environment a production deployment gives it."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "auth.example.com",
        "HANKOFLOW_ALLOWED_ORIGINS": "https://app.example.com,https://example.com",
        "HANKOFLOW_RP_ID": "example.com",
        "HANKOFLOW_SECURE_COOKIES": "1",
        "CACHE_URL": "redis://127.0.0.1:6379/0",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/1",
        "EMAIL_URL": "smtp://mail.example.com:587",
    }

    def check_deploy(**changes: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy"],
            cwd=REPO,
            env={**env, **changes},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    assert "hankoflow." not in check_deploy()
    assert "hankoflow.W013" in check_deploy(HANKOFLOW_SECURE_COOKIES="0")  # the checks ran
