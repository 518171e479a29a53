"""deploy/: the Procfile, gunicorn config, systemd units, compose file and example environment
agree with each other and with what project/settings.py reads (issue 16, production stack).

No service is started: the files are parsed, the gunicorn config is loaded, and the Procfile's
modules are imported in a subprocess with the example environment (DEBUG off, as in production).
"""

from __future__ import annotations

import configparser
import os
import re
import runpy
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bench import run

REPO = Path(__file__).resolve().parent.parent.parent
DEPLOY = REPO / "deploy"
UNITS = ("hankoflow-web.service", "hankoflow-worker.service", "hankoflow-beat.service")
GUNICORN_COMMAND = "gunicorn project.wsgi:application --config deploy/gunicorn.conf.py"
# Variables read by someone other than project/settings.py: gunicorn itself (WEB_CONCURRENCY,
# FORWARDED_ALLOW_IPS), deploy/gunicorn.conf.py, Django's manage.py / wsgi.py.
NOT_SETTINGS = {
    "DJANGO_SETTINGS_MODULE",
    "GUNICORN_BIND",
    "GUNICORN_THREADS",
    "GUNICORN_TIMEOUT",
    "GUNICORN_LOG_LEVEL",
    "WEB_CONCURRENCY",
    "FORWARDED_ALLOW_IPS",
}


def settings_variables() -> set[str]:
    """The environment variable names project/settings.py reads (env.str("X"), env.db("X"), ...)."""
    source = (REPO / "project" / "settings.py").read_text()
    names = set(re.findall(r"""\benv(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]*)["']""", source))
    assert {"DATABASE_URL", "SECRET_KEY", "CELERY_BROKER_URL", "REDIS_URL"} <= names
    return names


def procfile() -> dict[str, str]:
    entries = {}
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


def example_env() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / "hankoflow.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def unit(name: str) -> configparser.ConfigParser:
    # strict=False: systemd allows a key more than once; interpolation off for "%" and "$".
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive in systemd
    parser.read_string((DEPLOY / "systemd" / name).read_text())
    return parser


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_procfile_runs_gunicorn_with_the_config_file_and_celery_worker_and_beat() -> None:
    entries = procfile()
    assert set(entries) == {"web", "worker", "beat"}
    assert entries["web"] == GUNICORN_COMMAND
    assert shlex.split(entries["worker"])[:4] == ["celery", "-A", "project", "worker"]
    assert shlex.split(entries["beat"])[:4] == ["celery", "-A", "project", "beat"]


def test_gunicorn_config_loads_and_binds_to_loopback_with_gthread_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("GUNICORN_BIND", "WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    config = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert config["bind"].startswith("127.0.0.1:")
    # What bin/bench --workers-compare measured against sync (the figures are in the file).
    assert config["worker_class"] == "gthread"
    assert config["threads"] == run.GTHREAD_THREADS
    assert config["workers"] >= 2  # one per core, at least two
    # Above the 10 s an outbound provider call may take, like bin/bench's --timeout 30.
    assert 10 < config["timeout"] <= 60

    # gunicorn itself accepts every setting the file defines.
    from gunicorn.config import Config

    known = Config().settings
    unknown = {k for k in config if not k.startswith("_") and k not in known} - {"multiprocessing"}
    assert unknown == {"os"}


@pytest.mark.parametrize("name", UNITS)
def test_systemd_unit_runs_as_a_dedicated_user_with_the_environment_file_and_hardening(
    name: str,
) -> None:
    service = unit(name)["Service"]
    assert service["User"] == service["Group"] == "hankoflow"
    assert service["EnvironmentFile"] == "/etc/hankoflow/hankoflow.env"
    assert service["WorkingDirectory"] == "/opt/hankoflow"
    assert service["Restart"] == "on-failure"
    for option in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices"):
        assert service[option] == "true", option
    assert service["ProtectSystem"] == "strict"
    assert unit(name)["Install"]["WantedBy"] == "multi-user.target"
    assert "network-online.target" in unit(name)["Unit"]["After"]


def test_systemd_units_run_the_procfile_commands() -> None:
    entries = procfile()
    venv = "/opt/hankoflow/.venv/bin/"
    web = unit("hankoflow-web.service")["Service"]
    assert web["ExecStart"] == venv + entries["web"]
    assert web["Type"] == "notify"  # gunicorn tells systemd when it is ready
    worker = unit("hankoflow-worker.service")["Service"]["ExecStart"]
    assert worker == venv + entries["worker"]
    beat = unit("hankoflow-beat.service")["Service"]
    assert shlex.split(beat["ExecStart"])[:4] == [venv + "celery", "-A", "project", "beat"]
    # beat's schedule file must be writable under ProtectSystem=strict.
    assert f"/var/lib/{beat['StateDirectory']}/" in beat["ExecStart"]


def test_compose_has_the_stack_and_runs_the_procfile_commands() -> None:
    services = compose()["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    entries = procfile()
    assert services["web"]["command"] == shlex.split(entries["web"])
    assert services["worker"]["command"] == shlex.split(entries["worker"])
    assert services["beat"]["command"] == shlex.split(entries["beat"])
    # Published on the host's loopback only: the proxy in front ends TLS.
    assert services["web"]["ports"] == ["127.0.0.1:8000:8000"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
        assert services[name]["env_file"] == ".env"


def test_compose_and_the_example_environment_use_the_names_settings_read() -> None:
    readable = settings_variables() | NOT_SETTINGS
    services = compose()["services"]
    for name in ("migrate", "web", "worker", "beat"):
        unknown = set(services[name]["environment"]) - readable
        assert not unknown, f"{name}: {unknown}"
        assert {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"} <= set(
            services[name]["environment"]
        )
    example = example_env()
    assert not set(example) - readable, set(example) - readable
    assert {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "HANKOFLOW_RP_ID"} <= set(example)
    assert example["DEBUG"] == "0"
    # The compose URLs parse into what settings expect (hosts are the compose service names).
    web = services["web"]["environment"]
    assert (
        web["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in web["DATABASE_URL"]
    )
    assert web["REDIS_URL"] == "redis://redis:6379/0"
    assert web["CELERY_BROKER_URL"].startswith("redis://redis:6379/")


def test_procfile_modules_import_and_check_deploy_is_silent_with_the_example_environment(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(example_env())
    env.update(
        SECRET_KEY=secrets.token_urlsafe(50),
        # No services are needed to import and check; the real URLs are kept for the broker.
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        REDIS_URL="",
        CACHE_URL="redis://127.0.0.1:1/0",
    )
    script = (
        "import celery, project.wsgi; from project.celery import app; "
        "assert isinstance(app, celery.Celery); "
        "assert not app.conf.task_always_eager; "
        "assert 'hankoflow-send-pending-outbox' in app.conf.beat_schedule; "
        "from django.core.management import call_command; "
        "call_command('check', deploy=True, fail_level='ERROR')"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # hankoflow's own deploy checks have nothing to say about the example environment.
    assert "hankoflow." not in result.stderr + result.stdout


def test_nginx_forwards_to_the_gunicorn_bind_and_serves_static_root(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GUNICORN_BIND", raising=False)
    nginx = (DEPLOY / "nginx" / "hankoflow.conf").read_text()
    bind = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))["bind"]
    assert f"proxy_pass http://{bind};" in nginx
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in nginx
    assert "proxy_set_header X-Real-IP $remote_addr;" in nginx
    # STATIC_ROOT is BASE_DIR/.run/static: the systemd checkout's and the image's.
    static = re.search(r"alias (\S+);", nginx).group(1)
    assert static == unit("hankoflow-web.service")["Service"]["WorkingDirectory"] + "/.run/static/"
    assert "./static:/app/.run/static" in compose()["services"]["migrate"]["volumes"]


def test_image_leaves_out_the_virtualenv_and_local_secrets() -> None:
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert {".venv", ".git", ".env", "deploy/.env", "*.sqlite3"} <= set(ignored)
