"""Where Hanko's published OpenAPI documents are found, and reading one exactly as published.

The YAML is never copied into this repository: it is read from ``<repo root>/../shared/``, or
from ``$HANKOFLOW_SHARED_DIR`` when that is set (CI and other layouts). Both checkers,
``hankoflow.testing.openapi`` (Flow API) and ``hankoflow.testing.openapi_public``, read through
here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

SHARED_DIR_ENV = "HANKOFLOW_SHARED_DIR"


def shared_path(relpath: Path) -> Path:
    """A file of the shared reference material (``$HANKOFLOW_SHARED_DIR`` or ``../shared``)."""
    shared = os.environ.get(SHARED_DIR_ENV)
    if shared:
        return Path(shared) / relpath
    return Path(__file__).resolve().parents[2].parent / "shared" / relpath


def read_document(path: Path) -> dict[str, Any]:
    """An OpenAPI document exactly as published (fresh); response codes become strings."""
    if not path.is_file():
        raise FileNotFoundError(
            f"{path.name} not found at {path}; set {SHARED_DIR_ENV} to the shared/ directory"
        )
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"] = {str(k): v for k, v in operation["responses"].items()}
    return spec
