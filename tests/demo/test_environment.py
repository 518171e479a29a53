"""The demo's settings from its environment: origins follow ``PORT``, and a local ``.env`` (which
bin/demo writes) lets ``manage.py`` run without exporting ``DEBUG=1`` first.

Each case imports ``project.settings`` in a fresh interpreter, from a copy of ``project/`` in a
temporary directory, so the ``.env`` read is the test's own and never the working tree's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
BASH = shutil.which("bash") or "/bin/bash"
# Variables the demo's settings read: the tests set what they need and nothing leaks in.
CLEARED = {
    "DEBUG",
    "SECRET_KEY",
    "PORT",
    "HANKOFLOW_ALLOWED_ORIGINS",
    "HANKOFLOW_SECURE_COOKIES",
    "HANKOFLOW_IP_EXTRACTOR",
    "HANKOFLOW_TRUSTED_PROXIES",
    "DJANGO_SETTINGS_MODULE",
    "PYTHONPATH",
}
PRINT = (
    "import json, project.settings as s; print(json.dumps({'debug': s.DEBUG, "
    "'cors': s.HANKOFLOW['CORS']['ALLOW_ORIGINS'], "
    "'webauthn': s.HANKOFLOW['WEBAUTHN']['RELYING_PARTY']['ORIGINS'], "
    "'secure': s.HANKOFLOW['SESSION']['COOKIE']['SECURE'], "
    "'ip': s.HANKOFLOW['SERVER']['IP']}))"
)


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A copy of the demo project: its settings take BASE_DIR (and .env) from where they are."""
    shutil.copytree(REPO / "project", tmp_path / "project", ignore=shutil.ignore_patterns("__py*"))
    return tmp_path


def settings_of(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in CLEARED}
    environment.update(env, PYTHONPATH=str(root))
    return subprocess.run(
        [sys.executable, "-c", PRINT],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def loaded(result: subprocess.CompletedProcess[str]) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_allowed_origins_follow_the_port(demo: Path):
    values = loaded(settings_of(demo, DEBUG="1", PORT="9123"))
    expected = ["http://localhost:9123", "http://127.0.0.1:9123"]
    assert values["cors"] == expected
    assert values["webauthn"] == expected


def test_allowed_origins_default_to_port_8000(demo: Path):
    values = loaded(settings_of(demo, DEBUG="1"))
    assert values["cors"] == ["http://localhost:8000", "http://127.0.0.1:8000"]


def test_explicit_allowed_origins_win_over_the_port(demo: Path):
    origins = "https://app.example.com"
    values = loaded(settings_of(demo, DEBUG="1", PORT="9123", HANKOFLOW_ALLOWED_ORIGINS=origins))
    assert values["cors"] == [origins]


def test_without_debug_or_dotenv_the_demo_refuses_to_start(demo: Path):
    result = settings_of(demo)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_dotenv_with_debug_lets_manage_py_run_without_exports(demo: Path):
    # What bin/demo writes when there is no .env yet.
    (demo / ".env").write_text("# Written by bin/demo\nDEBUG=1\n")
    values = loaded(settings_of(demo))
    assert values["debug"] is True
    assert values["secure"] is False  # plain http://localhost in development


def test_the_environment_wins_over_dotenv(demo: Path):
    (demo / ".env").write_text("DEBUG=1\nPORT=9000\n")
    result = settings_of(demo, DEBUG="0")
    assert result.returncode != 0  # DEBUG=0 from the environment: a real SECRET_KEY is needed
    values = loaded(settings_of(demo, PORT="9123"))
    assert values["cors"][0] == "http://localhost:9123"


def bin_demo_dotenv_step() -> str:
    """The lines of bin/demo that write .env (the rest sets up and serves)."""
    script = (REPO / "bin" / "demo").read_text()
    start = script.index("if [ ! -e .env ]; then")
    return script[start : script.index("\nfi\n", start) + 4]


def test_bin_demo_writes_a_dotenv_with_debug_once(demo: Path):
    step = bin_demo_dotenv_step()
    subprocess.run([BASH, "-euc", step], cwd=demo, check=True)
    written = (demo / ".env").read_text()
    assert "DEBUG=1" in written.splitlines()
    assert "SECRET_KEY" not in written  # never a secret in a file bin/demo writes
    assert loaded(settings_of(demo))["debug"] is True

    (demo / ".env").write_text("DEBUG=1\nLOG_LEVEL=DEBUG\n")  # the developer's own edits
    subprocess.run([BASH, "-euc", step], cwd=demo, check=True)
    assert (demo / ".env").read_text() == "DEBUG=1\nLOG_LEVEL=DEBUG\n"


def test_dotenv_is_gitignored():
    assert ".env" in (REPO / ".gitignore").read_text().splitlines()


def test_behind_a_proxy_the_client_address_settings_come_from_the_environment(demo: Path):
    assert loaded(settings_of(demo, DEBUG="1"))["ip"] == {
        "EXTRACTOR": "direct",
        "TRUSTED_PROXIES": [],
    }
    values = loaded(
        settings_of(
            demo,
            DEBUG="1",
            HANKOFLOW_IP_EXTRACTOR="x_real_ip",
            HANKOFLOW_TRUSTED_PROXIES="127.0.0.1/32,10.0.0.0/8",
        )
    )
    assert values["ip"] == {
        "EXTRACTOR": "x_real_ip",
        "TRUSTED_PROXIES": ["127.0.0.1/32", "10.0.0.0/8"],
    }
