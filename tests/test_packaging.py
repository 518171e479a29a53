"""The app installs from a wheel with its migrations and templates (``pip install hankoflow``)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_ships_code_migrations_and_templates(tmp_path: Path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("hankoflow-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "hankoflow/engine/executor.py" in names
    assert "hankoflow/migrations/0001_initial.py" in names
    assert any(name.startswith("hankoflow/templates/hankoflow/web/") for name in names)
    assert not any(name.startswith(("tests/", "project/", "bench/")) for name in names)
    metadata = next(n for n in names if n.endswith("METADATA"))
    requires = zipfile.ZipFile(wheel).read(metadata).decode()
    for dependency in ("Django", "djangorestframework", "django-environ", "celery"):
        assert f"Requires-Dist: {dependency}" in requires
