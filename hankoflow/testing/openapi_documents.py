"""Where Hanko's published OpenAPI documents are found, reading one exactly as published, and
whether responses can be validated at all.

The first of these holding the document is used:

1. ``$HANKOFLOW_OPENAPI_DIR``: a directory with ``openapi-flow.yaml`` and ``openapi-public.yaml``
   (how a host project points at its own copies);
2. ``$HANKOFLOW_SHARED_DIR/hanko-openapi/`` (this repository's CI and other layouts);
3. copies shipped next to this module in ``openapi/`` (the wheel ships none today: see the
   README's "Testing your project" on why);
4. ``<repository root>/../shared/hanko-openapi/`` (a checkout of this repository).

An environment variable that is set is taken as given, so a wrong path fails with its name in the
message. Validation also needs the ``testing`` extra (PyYAML, jsonschema,
openapi-schema-validator); ``validation_unavailable`` says what is missing, and the pytest plugin
skips validation with that message instead of failing.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

OPENAPI_DIR_ENV = "HANKOFLOW_OPENAPI_DIR"
SHARED_DIR_ENV = "HANKOFLOW_SHARED_DIR"
PACKAGED_DIR = Path(__file__).resolve().with_name("openapi")
FLOW_DOCUMENT = "openapi-flow.yaml"
PUBLIC_DOCUMENT = "openapi-public.yaml"
VALIDATION_PACKAGES = {
    "yaml": "PyYAML",
    "jsonschema": "jsonschema",
    "openapi_schema_validator": "openapi-schema-validator",
}


def shared_path(relpath: Path) -> Path:
    """A file of the shared reference material (``$HANKOFLOW_SHARED_DIR`` or ``../shared``)."""
    shared = os.environ.get(SHARED_DIR_ENV)
    if shared:
        return Path(shared) / relpath
    return Path(__file__).resolve().parents[2].parent / "shared" / relpath


def document_path(name: str) -> Path:
    """Where the document ``name`` (e.g. ``openapi-flow.yaml``) is read from (it may not exist:
    ``read_document`` then says which variable to set)."""
    if os.environ.get(OPENAPI_DIR_ENV):
        return Path(os.environ[OPENAPI_DIR_ENV]) / name
    if os.environ.get(SHARED_DIR_ENV):
        return shared_path(Path("hanko-openapi", name))
    if (PACKAGED_DIR / name).is_file():
        return PACKAGED_DIR / name
    return shared_path(Path("hanko-openapi", name))


def validation_unavailable() -> str | None:
    """Why responses cannot be checked against Hanko's documents here, or None when they can."""
    missing = [
        package
        for module, package in VALIDATION_PACKAGES.items()
        if importlib.util.find_spec(module) is None
    ]
    if missing:
        return (
            f"{', '.join(missing)} not installed: install hankoflow[testing] to check responses "
            "against Hanko's OpenAPI documents"
        )
    absent = [p for p in map(document_path, (FLOW_DOCUMENT, PUBLIC_DOCUMENT)) if not p.is_file()]
    if absent:
        return (
            f"{absent[0]} not found: set {OPENAPI_DIR_ENV} to a directory holding Hanko's "
            f"{FLOW_DOCUMENT} and {PUBLIC_DOCUMENT}"
        )
    return None


def read_document(path: Path) -> dict[str, Any]:
    """An OpenAPI document exactly as published (fresh); response codes become strings."""
    import yaml  # the `testing` extra: imported only when a document is read

    if not path.is_file():
        raise FileNotFoundError(
            f"{path.name} not found at {path}; set {OPENAPI_DIR_ENV} to a directory holding "
            f"Hanko's OpenAPI documents (or {SHARED_DIR_ENV} to the shared/ directory)"
        )
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"] = {str(k): v for k, v in operation["responses"].items()}
    return spec
