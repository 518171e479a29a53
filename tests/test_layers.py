"""Importing a layer alone loads nothing above it (the layers of [tool.importlinter]).

``lint-imports`` reads the import statements; this test runs them. Each layer is imported with
all its modules in a fresh interpreter, and ``sys.modules`` must then hold no module of a layer
above it, nor of a sibling it must not know (actions and hooks, api and web).
"""

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import hankoflow

ROOT = Path(__file__).resolve().parent.parent

# Lowest first; siblings share a rank and must not import each other either.
RANKS = [
    ["hankoflow.engine", "hankoflow.clock"],
    ["hankoflow.names"],
    ["hankoflow.models"],
    ["hankoflow.services"],
    ["hankoflow.steps"],
    ["hankoflow.actions", "hankoflow.hooks"],
    ["hankoflow.flows"],
    ["hankoflow.http"],
    ["hankoflow.api", "hankoflow.web", "hankoflow.admin"],
]
# Imported without django.setup():
FRAMEWORK_FREE = {"hankoflow.engine", "hankoflow.clock", "hankoflow.names"}

# A layer that breaks the rule for a known reason (strict: a fix shows up as XPASS -> remove).
KNOWN_BROKEN: dict[str, str] = {}

CHILD = """
import importlib, json, pkgutil, sys
layer, framework_free = sys.argv[1], sys.argv[2] == "1"
if not framework_free:
    # hankoflow's own app alone: the demo project's settings would load its logging filters.
    import django
    from django.conf import settings
    settings.configure(
        # SimpleAdminConfig: the admin without autodiscovery, so hankoflow.admin can be imported
        # and no other layer loads it.
        INSTALLED_APPS=[
            "django.contrib.admin.apps.SimpleAdminConfig",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "hankoflow",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    )
    django.setup()
package = importlib.import_module(layer)
for info in pkgutil.walk_packages(getattr(package, "__path__", []), layer + "."):
    importlib.import_module(info.name)
print(json.dumps(sorted(m for m in sys.modules if m.startswith("hankoflow."))))
"""


def _above(layer: str) -> list[str]:
    """The layers above ``layer`` and its siblings: none of them may be loaded with it."""
    rank = next(i for i, names in enumerate(RANKS) if layer in names)
    return [name for names in RANKS[rank:] for name in names if name != layer]


def _cases() -> list:
    cases = []
    for names in RANKS:
        for layer in names:
            marks = []
            if layer in KNOWN_BROKEN:
                marks.append(pytest.mark.xfail(reason=KNOWN_BROKEN[layer], strict=True))
            cases.append(pytest.param(layer, marks=marks, id=layer.removeprefix("hankoflow.")))
    return cases


def _exists(layer: str) -> bool:
    path = Path(hankoflow.__file__).parent.joinpath(*layer.split(".")[1:])
    return path.is_dir() or path.with_suffix(".py").is_file()


@pytest.fixture(scope="module")
def children() -> dict[str, subprocess.Popen]:
    """One fresh interpreter per layer, all started at once so they run side by side."""
    layers = [layer for names in RANKS for layer in names if _exists(layer)]
    return {
        layer: subprocess.Popen(  # noqa: S603 - our own interpreter and a fixed script
            [sys.executable, "-c", CHILD, layer, "1" if layer in FRAMEWORK_FREE else "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        )
        for layer in layers
    }


@pytest.mark.parametrize("layer", _cases())
def test_a_layer_imported_alone_loads_nothing_above_it(layer, children):
    if layer not in children:
        pytest.skip(f"{layer} does not exist yet")
    stdout, stderr = children[layer].communicate(timeout=120)
    assert children[layer].returncode == 0, stderr
    loaded = json.loads(stdout.splitlines()[-1])
    above = _above(layer)
    intruders = [m for m in loaded if any(m == a or m.startswith(a + ".") for a in above)]
    assert intruders == [], f"importing {layer} loaded {intruders}"


def test_the_layers_here_are_those_of_the_contract():
    """One picture: this test's ranks are the layers contract's, in the same order."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["id"] == "layers")
    declared = [
        sorted(part.strip().strip("()") for part in layer.split("|"))
        for layer in reversed(contract["layers"])
    ]
    assert declared == [sorted(names) for names in RANKS]
