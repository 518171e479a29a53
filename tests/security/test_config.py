"""Configuration and supply chain (security-checks CF-01, CF-02).

The deploy checks of the demo in production are in tests/test_deploy_checks.py and
tests/deploy/test_https_settings.py, the demo's SECRET_KEY rules in tests/demo/test_secret_key.py.
Here: what the library itself refuses, the dependency floors, and static rules over hankoflow's
own code (what bandit/semgrep rules would flag, written as an AST walk so it runs everywhere).
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.test import override_settings

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "hankoflow"

# (distribution, floor the catalogue asks for, why)
FLOORS = [
    ("Django", (5, 2), "the 5.2 LTS line"),
    ("djangorestframework", (3, 17, 2), "JSON bodies obey DATA_UPLOAD_MAX_MEMORY_SIZE (#4760)"),
    ("PyJWT", (2, 12), "unknown crit headers refused (CVE-2026-32597)"),
    ("social-auth-core", (5, 0, 2), "state for every OAuth backend"),
    ("webauthn", (3, 0), "py_webauthn 3 API"),
    ("pyotp", (2, 9), "pinned major"),
]


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def declared_floor(name: str) -> tuple[int, ...]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        match = re.match(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9.]+)", requirement)
        if match and match.group(1).lower() == name.lower():
            return version_tuple(match.group(2))
    raise AssertionError(f"{name} has no >= floor in pyproject.toml")


@pytest.mark.parametrize(("name", "floor", "why"), FLOORS)
def test_dependency_floors_are_declared_and_installed(name, floor, why):
    assert declared_floor(name) >= floor, why
    assert version_tuple(importlib.metadata.version(name)) >= floor, why


# --- CF-01: the library's own start-up refusals ---------------------------------------------


@pytest.mark.parametrize(
    ("hankoflow", "error"),
    [
        ({"SECRETS": {"KEYS": ["abcedfghijklmnopqrstuvwxyz"]}}, "hankoflow.E001"),  # Hanko's name
        ({"SESSION": {"LIFESPAN": 0}}, "hankoflow.E005"),
        ({"CORS": {"ALLOW_ORIGINS": ["*"]}}, "hankoflow.E004"),
        ({"SERVER": {"IP": {"EXTRACTOR": "x_forwarded_for"}}}, "hankoflow.E008"),
        ({"WEBAUTHN": {"RELYING_PARTY": {"ID": ""}}}, "hankoflow.E006"),
    ],
)
def test_unsafe_or_unknown_settings_fail_the_start_up_checks(hankoflow, error):
    with override_settings(HANKOFLOW=hankoflow):
        assert error in [m.id for m in run_checks() if m.id.startswith("hankoflow.")]


@pytest.mark.parametrize("secret_key", ["short", "django-insecure-" + "x" * 40, "a" * 60])
def test_a_weak_secret_key_is_reported_by_the_deploy_checks(secret_key):
    # SECRET_KEY is hankoflow's key-encryption key (JWKs, outbox codes, OAuth state): Django's
    # own deploy check names a weak one; the demo refuses to start with it.
    with override_settings(SECRET_KEY=secret_key):
        assert "security.W009" in [m.id for m in run_checks(include_deployment_checks=True)]


# --- CF-02: static rules over hankoflow's code ------------------------------------------------


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def trees() -> list[tuple[Path, ast.AST]]:
    return [(path, ast.parse(path.read_text(), str(path))) for path in modules()]


TREES = trees()
SECRET_PARTS = {
    "csrf",
    "token",
    "tokens",
    "secret",
    "signature",
    "digest",
    "verifier",
    "passcode",
    "otp",
    "hmac",
    "nonce",
}


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript | ast.Call):
        return _name(node.value if isinstance(node, ast.Subscript) else node.func)
    return None


def _constant(node: ast.AST) -> bool:
    name = _name(node)
    return isinstance(node, ast.Constant) or (name is not None and name.isupper())


def test_no_module_uses_the_random_module():
    found = [
        f"{path.relative_to(REPO)}:{node.lineno}"
        for path, tree in TREES
        for node in ast.walk(tree)
        if (isinstance(node, ast.Import) and any(a.name == "random" for a in node.names))
        or (isinstance(node, ast.ImportFrom) and node.module == "random")
    ]
    assert found == []


def test_no_tls_verification_is_turned_off():
    found = [
        f"{path.relative_to(REPO)}:{node.lineno}"
        for path, tree in TREES
        for node in ast.walk(tree)
        if isinstance(node, ast.keyword)
        and (
            (node.arg == "verify" and isinstance(node.value, ast.Constant) and not node.value.value)
            or (
                node.arg == "cert_reqs"
                and ast.unparse(node.value) in ("'CERT_NONE'", "ssl.CERT_NONE")
            )
        )
    ]
    assert found == []


def test_secrets_are_never_compared_with_equals():
    found = []
    for path, tree in TREES:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare) or len(node.ops) != 1:
                continue
            if not isinstance(node.ops[0], ast.Eq | ast.NotEq):
                continue
            left, right = node.left, node.comparators[0]
            if _constant(left) or _constant(right):
                continue  # a state name, an empty string...: nothing secret to time
            parts = {p for n in (_name(left), _name(right)) if n for p in n.lower().split("_")}
            if parts & SECRET_PARTS:
                found.append(f"{path.relative_to(REPO)}:{node.lineno}: {ast.unparse(node)}")
    assert found == []


def test_no_sql_is_built_from_strings():
    found = []
    for path, tree in TREES:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            sql_call = node.func.attr in ("raw", "extra") or (
                node.func.attr in ("execute", "executemany")
                and "cursor" in (_name(node.func.value) or "")
            )
            if not sql_call:
                continue
            for arg in node.args[:1]:
                if isinstance(arg, ast.JoinedStr):
                    values = [v.value for v in arg.values if isinstance(v, ast.FormattedValue)]
                    # a model's own table name is no input
                    if all(_name(v) == "db_table" for v in values):
                        continue
                if (
                    isinstance(arg, ast.Call)
                    and isinstance(arg.func, ast.Attribute)
                    and arg.func.attr == "format"
                    and _constant(arg.func.value)
                ):
                    continue  # a module's SQL template filled from its own table of dialects
                if isinstance(arg, ast.JoinedStr | ast.BinOp | ast.Call):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert found == []
