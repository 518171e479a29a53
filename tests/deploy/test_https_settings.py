"""project/settings.py's HTTPS settings: off for the demo on http://localhost, on with
deploy/hankoflow.env.example, where ``manage.py check --deploy`` then has nothing to say
(security.W004, W008, W012, W016 included).

Each case runs the project's settings in a subprocess with a chosen environment (settings are
read once per process); no service is needed.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from tests.deploy.test_production_files import REPO, example_env

# Prints the HTTPS settings and what the project answers over http and over https-behind-a-proxy.
PROBE = """
import json
import django
django.setup()
from django.conf import settings
from django.test import Client
host = settings.ALLOWED_HOSTS[0]
client = Client(HTTP_HOST=host)
plain = client.get("/health/alive")
login = client.get("/protected/")
proxied = client.get("/health/alive", HTTP_X_FORWARDED_PROTO="https")
print(json.dumps({
    "settings": {name: getattr(settings, name) for name in (
        "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
        "SECURE_PROXY_SSL_HEADER")},
    "health": plain.status_code,
    "protected": [login.status_code, login.headers.get("Location", "")],
    "hsts_over_http": plain.headers.get("Strict-Transport-Security"),
    "hsts_over_https": proxied.headers.get("Strict-Transport-Security"),
}))
"""


def run_project(script: list[str], environment: dict[str, str], tmp_path: Path) -> str:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PYTEST", "SECURE_", "SESSION_", "CSRF_"))
    }
    env.update(environment)
    env.update(
        DJANGO_SETTINGS_MODULE="project.settings",
        SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        REDIS_URL="",
        CACHE_URL="redis://127.0.0.1:1/0",  # never contacted: no check or probe uses the cache
    )
    result = subprocess.run(
        [sys.executable, *script], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def test_check_deploy_with_the_example_environment_reports_no_issue(tmp_path: Path) -> None:
    output = run_project(["manage.py", "check", "--deploy"], example_env(), tmp_path)
    assert "System check identified no issues" in output, output


def test_the_example_environment_turns_https_on_behind_the_proxy(tmp_path: Path) -> None:
    answer = json.loads(run_project(["-c", PROBE], example_env(), tmp_path))
    assert answer["settings"] == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }
    # http is sent to https, except the health probes that reach gunicorn directly.
    assert answer["protected"] == [301, "https://auth.example.com/protected/"]
    assert answer["health"] == 200
    # The proxy's X-Forwarded-Proto makes the request secure: HSTS only there, as browsers want.
    assert answer["hsts_over_http"] is None
    assert answer["hsts_over_https"] == "max-age=31536000; includeSubDomains; preload"


def test_the_demo_on_plain_http_keeps_https_off(tmp_path: Path) -> None:
    answer = json.loads(run_project(["-c", PROBE], {"DEBUG": "1"}, tmp_path))
    assert answer["settings"] == {
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_PROXY_SSL_HEADER": None,
    }
    # Not redirected to https: the signed-out visitor goes to the login page.
    assert answer["protected"][0] == 302
    assert answer["hsts_over_https"] is None  # no proxy header is believed
