"""The PostgreSQL connection settings of project/settings.py, and the bench peer's copy of them.

Each case reads the settings in a subprocess (they are read once per process) with a PostgreSQL
``DATABASE_URL`` that is never contacted.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest

from bench import peer_setup
from tests.deploy.test_production_files import REPO

URL = "postgres://someone:secret@127.0.0.1:1/nowhere"
PRINT_DATABASE = (
    "import json; from django.conf import settings; "
    "db = settings.DATABASES['default']; "
    "print(json.dumps({k: db[k] for k in ('ENGINE', 'OPTIONS', 'CONN_MAX_AGE', "
    "'CONN_HEALTH_CHECKS')}))"
)


def database_settings(module: str, python: str = sys.executable, **environment: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.pop("DATABASE_PREPARED_STATEMENTS", None)
    env.update(
        DJANGO_SETTINGS_MODULE=module,
        SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=URL,
        PEER_DATABASE_URL=URL,
        CACHE_URL="",
        REDIS_URL="",
    )
    env.update(environment)
    result = subprocess.run(
        [python, "-c", PRINT_DATABASE], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_postgresql_gets_the_quiet_health_check_server_side_binding_and_prepared_statements():
    database = database_settings("project.settings")
    assert database["ENGINE"] == "hankoflow.db.postgresql"
    assert database["CONN_HEALTH_CHECKS"] is True  # still checked, only without a round trip
    assert database["OPTIONS"] == {
        "connect_timeout": 5,
        "server_side_binding": True,
        "prepare_threshold": 2,
    }


def test_behind_a_pooler_prepared_statements_can_be_switched_off():
    database = database_settings("project.settings", DATABASE_PREPARED_STATEMENTS="0")
    assert database["OPTIONS"]["prepare_threshold"] is None  # Django's default
    assert database["OPTIONS"]["server_side_binding"] is True  # unnamed statements: fine there


def test_sqlite_keeps_djangos_backend(tmp_path):
    database = database_settings("project.settings", DATABASE_URL=f"sqlite:///{tmp_path}/db")
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert "prepare_threshold" not in database["OPTIONS"]


@pytest.mark.parametrize("prepared", ["1", "0"])
def test_the_bench_peer_gets_the_same_connection_settings(prepared):
    ours = database_settings("project.settings", DATABASE_PREPARED_STATEMENTS=prepared)
    peer = database_settings("bench.peer.settings", DATABASE_PREPARED_STATEMENTS=prepared)
    assert peer == ours


def test_the_backend_imports_nothing_of_hankoflow_but_itself():
    # The peer's virtualenv has Django and psycopg, none of hankoflow's other dependencies.
    peer_python = peer_setup.PEER_VENV / "bin" / "python"
    python = str(peer_python) if peer_python.exists() else sys.executable
    script = (
        "import sys, json, hankoflow.db.postgresql.base; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('hankoflow'))))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    result = subprocess.run(
        [python, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        "hankoflow",
        "hankoflow.db",
        "hankoflow.db.postgresql",
        "hankoflow.db.postgresql.base",
    ]
