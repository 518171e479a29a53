"""Check Flow API responses against Hanko's published OpenAPI document (flow-api.md §1.6, §7).

``assert_valid_flow_response`` validates a response body produced by hankoflow against
``openapi-flow.yaml`` (OpenAPI 3.0.3), so wire drift from Hanko shows up in our tests. We follow
the Go backend, so the loaded document is first patched by ``CORRECTIONS`` and tightened by
``STRICTNESS`` (both in ``openapi_flow_corrections``); every entry checks that the defect is still
there before patching, so a fixed upstream document makes the entry fail loudly.

The pieces: ``openapi_documents`` finds and reads the YAML, ``openapi_corrections`` is how
a correction table is written, ``openapi_validation`` compiles and runs the schemas. This module
is the Flow API checker on top, and keeps every public name importable from here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hankoflow.testing.openapi_corrections import (
    Correction,
    CorrectionError,
    apply_entries,
    node_at,
)
from hankoflow.testing.openapi_documents import (
    FLOW_DOCUMENT,
    SHARED_DIR_ENV,
    document_path,
    read_document,
    shared_path,
)
from hankoflow.testing.openapi_flow_corrections import CORRECTIONS, STRICTNESS
from hankoflow.testing.openapi_validation import FORMATS, Compiled, compile_document, describe

__all__ = [
    "CORRECTIONS",
    "EXTRA_STATUSES",
    "SHARED_DIR_ENV",
    "STRICTNESS",
    "Correction",
    "CorrectionError",
    "apply_corrections",
    "apply_entries",
    "assert_valid_flow_response",
    "default_spec_path",
    "flow_response_errors",
    "load_flow_spec",
    "read_document",
    "read_flow_spec",
    "shared_path",
]

_BASE_URI = "urn:hankoflow:openapi-flow"

# Deliberate hankoflow statuses Hanko never sends (README "Deliberate differences"): a body too
# large (413) or not JSON (415) answers the same early-error shape as Hanko's 400.
EXTRA_STATUSES = {413: 400, 415: 400}


# --- the document ----------------------------------------------------------------------------


def default_spec_path() -> Path:
    """Where ``openapi-flow.yaml`` is read from (see ``openapi_documents``)."""
    return document_path(FLOW_DOCUMENT)


def read_flow_spec(path: Path | None = None) -> dict[str, Any]:
    """The flow document exactly as published (fresh, uncorrected)."""
    return read_document(Path(path) if path is not None else default_spec_path())


def apply_corrections(spec: dict[str, Any]) -> dict[str, Any]:
    """Apply ``CORRECTIONS``, then ``STRICTNESS``, in place; CorrectionError if one is stale."""
    return apply_entries(spec, (*CORRECTIONS, *STRICTNESS))


def load_flow_spec(path: Path | None = None) -> dict:
    """The corrected document (cached per path and shared between callers: treat as read-only)."""
    return _compiled(_resolve(path)).spec


def _resolve(path: Path | None) -> Path:
    return (Path(path) if path is not None else default_spec_path()).resolve()


@functools.lru_cache(maxsize=4)
def _compiled(path: Path) -> Compiled:
    return compile_document(apply_corrections(read_flow_spec(path)), _BASE_URI)


# --- checking a response ---------------------------------------------------------------------


def flow_response_errors(
    flow_path: str, status: int, body: Any, *, spec: dict[str, Any] | None = None
) -> list[str]:
    """Readable problems of ``body`` as the response to ``POST flow_path`` with HTTP ``status``.

    ``spec`` defaults to the corrected document; pass ``read_flow_spec()`` to see what the
    document says without hankoflow's corrections.
    """
    compiled = _compiled(_resolve(None)) if spec is None else compile_document(spec, _BASE_URI)
    pointer, problem = _response_schema_pointer(compiled.spec, flow_path, status)
    if problem:
        return [problem]
    if not isinstance(body, dict):
        return [f"$: response body must be a JSON object, got {type(body).__name__}"]
    validator = compiled.validator_cls(
        {"$ref": f"{_BASE_URI}#{pointer}"}, registry=compiled.registry, format_checker=FORMATS
    )
    # An extra status is checked as the documented one it stands for.
    documented = {**body, "status": EXTRA_STATUSES[status]} if status in EXTRA_STATUSES else body
    problems = [line for error in validator.iter_errors(documented) for line in describe(error)]
    problems.extend(_invariant_problems(status, body))
    return sorted(dict.fromkeys(problems))


def assert_valid_flow_response(flow_path: str, status: int, body: dict) -> None:
    """Fail the test unless ``body`` is a valid ``POST flow_path`` response with HTTP ``status``."""
    problems = flow_response_errors(flow_path, status, body)
    if problems:
        summary = f"name={body.get('name')!r}" if isinstance(body, dict) else ""
        raise AssertionError(
            f"POST {flow_path} -> {status} ({summary}) does not match openapi-flow.yaml "
            "(with hankoflow's flow-api.md §7 corrections):\n  " + "\n  ".join(problems)
        )


def _invariant_problems(status: int, body: dict[str, Any]) -> Iterator[str]:
    # §3.1: the body's `status` equals the HTTP status; §1.6.1: non-200 responses carry `error`.
    if "status" in body and body["status"] != status:
        yield f"$.status: {body['status']!r} differs from the HTTP status {status}"
    if status != 200 and "error" not in body:
        yield f"$: HTTP {status} response has no 'error' object"


def _response_schema_pointer(
    spec: dict[str, Any], flow_path: str, status: int
) -> tuple[str, str | None]:
    """JSON pointer of the response schema, or a problem message (fail closed)."""
    operation = spec.get("paths", {}).get(flow_path, {}).get("post")
    if operation is None:
        known = sorted(spec.get("paths", {}))
        return "", f"openapi-flow.yaml documents no POST {flow_path!r} (known: {known})"
    responses = operation.get("responses", {})
    documented = EXTRA_STATUSES.get(status, status)  # checked as the status it stands for
    code = next(
        (c for c in (str(documented), f"{documented // 100}XX", "default") if c in responses), None
    )
    if code is None:
        return "", f"POST {flow_path} documents no response {status} (only {sorted(responses)})"
    pointer = f"/paths/{flow_path.replace('~', '~0').replace('/', '~1')}/post/responses/{code}"
    response = responses[code]
    while "$ref" in response:
        pointer = response["$ref"].lstrip("#")
        response = node_at(spec, pointer)
    if "schema" not in response.get("content", {}).get("application/json", {}):
        return "", f"POST {flow_path} response {code} has no application/json schema"
    return pointer + "/content/application~1json/schema", None
