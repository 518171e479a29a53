"""The app installs from a wheel with its migrations and templates (``pip install hankoflow``).

The wheel is built once per run. A throwaway venv then gets the wheel with its hard dependencies
only (pinned by requirements.txt, from pip's cache or index): the library must import, pass
``check`` and migrate there without the demo's extras (django-environ, redis, gunicorn).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path | None = None) -> str:
    # A clean environment: nothing from the repository or the suite's settings may leak in.
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "DJANGO_SETTINGS_MODULE"}}
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files git would see (tracked or not ignored), copied: an in-tree build would reuse
    build/lib, where modules deleted since the last build live on."""
    root = tmp_path_factory.mktemp("source")
    listed = _run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO)
    for name in filter(None, listed.split("\0")):
        if (REPO / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)
    return root


@pytest.fixture(scope="module")
def wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "pip", "wheel", source, "--no-deps", "-q", "-w", out)
    (built,) = out.glob("hankoflow-*.whl")
    return built


@pytest.fixture(scope="module")
def metadata(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return archive.read(name).decode()


@pytest.fixture(scope="module")
def bare_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding the wheel and only the hard dependencies it declares."""
    root = tmp_path_factory.mktemp("venv")
    venv.create(root, with_pip=False)  # the suite's pip installs into it (--python): no ensurepip
    python = root / "bin" / "python"
    _pip(python, "install", "-q", wheel, "-c", REPO / "requirements.txt")
    return python


def _pip(python: Path, *args: str | Path) -> str:
    return _run(sys.executable, "-m", "pip", "--python", python, *args)


def test_wheel_ships_code_migrations_and_templates(wheel: Path, metadata: str):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "hankoflow/engine/executor.py" in names
    assert "hankoflow/migrations/0001_initial.py" in names
    assert any(name.startswith("hankoflow/templates/hankoflow/web/") for name in names)
    assert not any(name.startswith(("tests/", "project/", "bench/")) for name in names)
    for dependency in ("Django", "djangorestframework", "PyJWT", "webauthn"):
        assert re.search(rf"^Requires-Dist: {dependency}\b[^;]*$", metadata, re.M), dependency
    # Celery is optional: without it emails are sent in-process (EMAIL_DELIVERY.MODE).
    assert not re.search(r"^Requires-Dist: celery\b[^;]*$", metadata, re.M)
    assert re.search(r'^Requires-Dist: celery\b.*extra == "celery"', metadata, re.M)


def test_wheel_ships_licence_and_type_marker(wheel: Path, metadata: str):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "hankoflow/py.typed" in names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert "License-Expression: MIT" in metadata
    assert "Classifier: Framework :: Django :: 5.2" in metadata
    assert "Classifier: Programming Language :: Python :: 3.11" in metadata
    assert "Classifier: Typing :: Typed" in metadata


def test_demo_and_redis_packages_are_extras_only(metadata: str):
    # Only the demo project (project/settings.py) reads django-environ; redis is a cache/broker.
    for dependency, extra in (("django-environ", "demo"), ("redis", "redis"), ("gunicorn", "demo")):
        lines = re.findall(rf"^Requires-Dist: {dependency}\b.*$", metadata, re.M)
        assert lines, dependency
        assert all(f'extra == "{extra}"' in line for line in lines), lines
    assert not re.search(r"^Requires-Dist: celery\[redis\][^;]*$", metadata, re.M)


def test_library_imports_and_migrates_without_the_demo_extras(bare_venv: Path, tmp_path: Path):
    script = tmp_path / "host.py"
    script.write_text(
        textwrap.dedent(
            """
            import importlib, importlib.metadata, importlib.util, pkgutil

            for extra in ("environ", "redis", "gunicorn", "celery"):
                assert importlib.util.find_spec(extra) is None, extra + " is installed"

            import django
            from django.conf import settings

            settings.configure(
                SECRET_KEY="packaging-test-secret-key-0123456789abcdef",
                INSTALLED_APPS=[
                    "django.contrib.auth", "django.contrib.contenttypes",
                    "rest_framework", "hankoflow",
                ],
                MIDDLEWARE=["hankoflow.middleware.HankoflowMiddleware"],
                ROOT_URLCONF="hankoflow.urls",
                DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            )
            django.setup()

            import hankoflow
            assert hankoflow.__file__.startswith(VENV), hankoflow.__file__
            assert hankoflow.__version__ == importlib.metadata.version("hankoflow")
            # Every module but the pytest plugin (it needs the `test` extra), the Celery
            # tasks (the `celery` extra), the Redis flow store (the `redis` extra; imported only
            # when FLOW_STORE is "redis"), the admin pages (this host has no admin app) and the
            # PostgreSQL backend (it needs psycopg, as Django's own does).
            skipped = (
                "hankoflow.tasks",
                "hankoflow.testing",
                "hankoflow.services.flow_store_redis",
                "hankoflow.db.postgresql",
                "hankoflow.admin",
            )
            for module in pkgutil.walk_packages(hankoflow.__path__, "hankoflow."):
                if not module.name.startswith(skipped):
                    importlib.import_module(module.name)

            from django.core.management import call_command
            call_command("check", fail_level="WARNING")
            call_command("migrate", verbosity=0)
            print("ok", hankoflow.__version__)
            """
        ).replace("VENV", repr(str(bare_venv.parent.parent)))
    )
    assert _run(bare_venv, script, cwd=tmp_path).splitlines()[-1].startswith("ok ")


def test_sdist_ships_licence(tmp_path: Path, source: Path, bare_venv: Path):
    # The venv's pip builds the sdist with the setuptools pyproject.toml asks for (PEP 639).
    _pip(bare_venv, "install", "-q", "setuptools>=77")
    script = "import sys, setuptools.build_meta as b; print(b.build_sdist(sys.argv[1]))"
    name = _run(bare_venv, "-c", script, tmp_path, cwd=source).strip().splitlines()[-1]
    with tarfile.open(tmp_path / name) as archive:
        members = archive.getnames()
    assert any(member.endswith("/LICENSE") for member in members)
    assert any(member.endswith("/hankoflow/py.typed") for member in members)
