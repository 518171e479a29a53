"""The pages' own script and stylesheet files, served from the package itself.

No inline script or style anywhere: the pages' Content-Security-Policy forbids them
(``headers.py``), so these are files of ``static/hankoflow/``, and no ``collectstatic`` is needed.
(The files also sit under ``static/hankoflow/`` for projects that prefer their static files.)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import condition, require_http_methods

STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "hankoflow"
WEBAUTHN_SCRIPT = STATIC_DIR / "webauthn.js"
ELEMENTS_SCRIPT = STATIC_DIR / "elements-page.js"
ELEMENTS_PROFILE_SCRIPT = STATIC_DIR / "elements-profile.js"
STYLESHEET = STATIC_DIR / "page.css"

JAVASCRIPT = "text/javascript; charset=utf-8"


def package_file_view(path: Path, content_type: str) -> Callable[[HttpRequest], HttpResponse]:
    """A view serving one file of ``static/hankoflow/`` from the package itself."""

    def last_modified(request: HttpRequest) -> datetime | None:
        try:
            return datetime.fromtimestamp(os.stat(path).st_mtime, tz=UTC)
        except OSError:
            return None

    @require_http_methods(["GET", "HEAD"])
    @condition(last_modified_func=last_modified)
    def view(request: HttpRequest) -> HttpResponse:
        response = HttpResponse(path.read_bytes(), content_type=content_type)
        response["Cache-Control"] = "no-cache"  # revalidate with If-Modified-Since after upgrades
        response["X-Content-Type-Options"] = "nosniff"
        return response

    return view


webauthn_script = package_file_view(WEBAUTHN_SCRIPT, JAVASCRIPT)
elements_script = package_file_view(ELEMENTS_SCRIPT, JAVASCRIPT)
elements_profile_script = package_file_view(ELEMENTS_PROFILE_SCRIPT, JAVASCRIPT)
stylesheet = package_file_view(STYLESHEET, "text/css; charset=utf-8")
