"""The one list of where an answer may differ from Hanko's OpenAPI documents, as the fuzz run
judges it, printed at the end of every run that fuzzed.

Three kinds, each named with where it is defined:

- the document's own defects, patched before checking (``CORRECTIONS`` of
  ``hankoflow.testing.openapi_flow_corrections``, ``openapi_public`` and ``openapi_admin``:
  Hanko's Go server differs from its document, and we follow the server);
- hankoflow's deliberate differences in status (``EXTRA_STATUSES`` / ``EXTRA_RESPONSES`` of the
  same modules: e.g. 400 instead of 500 for a bad body, 413, 415; README "Deliberate differences
  from Hanko");
- ``UNDOCUMENTED`` below: answers of the fuzz run that neither the documents nor those tables
  cover, each with its reason; they must still be Hanko's error body ``{"code", "message"}``;
- ``SERVER_STATUSES`` below: the only 5xx answers the fuzz run accepts.

``STRICTNESS`` entries only tighten the documents (keys the server always sends), so they are not
differences and are not listed.
"""

from __future__ import annotations

from collections.abc import Iterator

from hankoflow.testing import openapi, openapi_admin, openapi_public
from hankoflow.testing.openapi_flow_corrections import CORRECTIONS as FLOW_CORRECTIONS

# (api, method, path template, status) -> why hankoflow answers so where the document says
# nothing. The answer is checked as Hanko's error body.
UNDOCUMENTED: dict[tuple[str, str, str, int], str] = {
    # What Hanko's server answers too (platform.md), missing from its document:
    ("public", "GET", "/saml/metadata", 403): "SAML is off (platform §9.6)",
    ("public", "GET", "/saml/provider", 403): "SAML is off (platform §9.6)",
    ("public", "POST", "/saml/callback", 403): "SAML is off (platform §9.6)",
    (
        "public",
        "POST",
        "/emails/{id}/set_primary",
        404,
    ): "not the user's address (platform §3.3.11)",
    ("public", "DELETE", "/emails/{id}", 404): "not the user's address (platform §3.3.11)",
    ("public", "POST", "/password/login", 429): "password rate limit (platform §3.3.3)",
    ("public", "POST", "/passcode/login/initialize", 429): "passcode rate limit (platform §3.3.1)",
    # hankoflow's own (README "Deliberate differences from Hanko" and "Hanko v2's endpoint API"):
    ("public", "GET", "/thirdparty/auth", 400): (
        "an error with neither an allowed Referer nor THIRD_PARTY.ERROR_REDIRECT_URL to "
        "redirect to (Hanko redirects to any Referer)"
    ),
    ("public", "GET", "/thirdparty/callback", 400): (
        "an error with no redirect target (no valid state, no THIRD_PARTY.ERROR_REDIRECT_URL)"
    ),
    ("public", "POST", "/emails", 403): (
        "EMAIL.REQUIRE_VERIFICATION is on: hankoflow has no unassigned addresses"
    ),
    ("admin", "GET", "/metrics", 404): (
        "Prometheus metrics are served at /metrics of the public routes, off by default "
        "(README Metrics), not on the admin API"
    ),
}

# (api, method, path template, status) -> why a 5xx is right there. Anything else >= 500 fails.
SERVER_STATUSES: dict[tuple[str, str, str, int], str] = {
    ("admin", "GET", "/health/ready", 503): "a backing service is down: names what failed",
}


def server_status_allowed(api: str, method: str, path: str, status: int) -> bool:
    return (api, method.upper(), path, status) in SERVER_STATUSES


def undocumented(api: str, method: str, path: str, status: int) -> bool:
    return (api, method.upper(), path, status) in UNDOCUMENTED


def lines() -> Iterator[str]:
    """Every difference, one line each: ``<api>: <kind> <reference>: <what>``."""
    for entry in FLOW_CORRECTIONS:
        yield f"flow: document defect (flow-api {entry.ref}): {entry.summary}"
    for status, documented in openapi.EXTRA_STATUSES.items():
        yield f"flow: deliberate status {status}, checked as Hanko's {documented} error body"
    for entry in openapi_public.CORRECTIONS:
        yield f"public: document defect ({entry.ref}): {entry.summary}"
    for (method, path, status), why in openapi_public.EXTRA_RESPONSES.items():
        yield f"public: deliberate status {status} on {method.upper()} {path}: {why}"
    for entry in openapi_admin.CORRECTIONS:
        yield f"admin: document defect ({entry.ref}): {entry.summary}"
    for status, why in openapi_admin.EXTRA_STATUSES.items():
        yield f"admin: deliberate status {status} on any operation: {why}"
    for (method, path, status), why in openapi_admin.EXTRA_RESPONSES.items():
        yield f"admin: deliberate status {status} on {method.upper()} {path}: {why}"
    for (api, method, path, status), why in UNDOCUMENTED.items():
        yield f"{api}: undocumented status {status} on {method} {path}: {why}"
    for (api, method, path, status), why in SERVER_STATUSES.items():
        yield f"{api}: accepted server status {status} on {method} {path}: {why}"
