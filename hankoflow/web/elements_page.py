"""``/elements/``: Hanko's own web components (``<hanko-auth>``) talking to this server.

The page loads the ``@teamhanko/hanko-elements`` bundle that ``bin/setup`` installs with npm;
``elements_bundle`` serves that one file, nothing else of ``node_modules``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings as django_settings
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, get_script_prefix, reverse
from django.views.decorators.http import condition, require_http_methods

from hankoflow import names
from hankoflow.web.headers import ELEMENTS_PAGE_POLICY, with_policy

ELEMENTS_BUNDLE = Path("node_modules/@teamhanko/hanko-elements/dist/elements.js")


def elements_bundle_path() -> Path:
    """``settings.HANKOFLOW_ELEMENTS_BUNDLE`` or the npm install under ``BASE_DIR``."""
    configured = getattr(django_settings, "HANKOFLOW_ELEMENTS_BUNDLE", None)
    if configured:
        return Path(configured)
    base_dir = getattr(django_settings, "BASE_DIR", None) or Path.cwd()
    return Path(base_dir) / ELEMENTS_BUNDLE


def api_base_url(request: HttpRequest) -> str:
    """Absolute URL under which ``hankoflow.urls`` answers (``/login`` etc. hang off it)."""
    try:
        login_path = reverse(f"hankoflow:flow-{names.FLOW_LOGIN}")
    except NoReverseMatch:
        base_path = get_script_prefix()
    else:
        base_path = login_path.removesuffix(names.FLOW_LOGIN)
    return request.build_absolute_uri(base_path).rstrip("/")


@with_policy(ELEMENTS_PAGE_POLICY)
@require_http_methods(["GET", "HEAD"])
def elements_page(request: HttpRequest) -> HttpResponse:
    """``<hanko-auth>`` from ``@teamhanko/hanko-elements`` talking to this server."""
    context = {
        "bundle_missing": not elements_bundle_path().is_file(),
        "elements_config": {
            "api": api_base_url(request),
            "bundle": reverse("hankoflow_web:elements-bundle"),
        },
    }
    return render(request, "hankoflow/web/elements.html", context)


def _bundle_last_modified(request: HttpRequest) -> datetime | None:
    try:
        return datetime.fromtimestamp(os.stat(elements_bundle_path()).st_mtime, tz=UTC)
    except OSError:
        return None


@require_http_methods(["GET", "HEAD"])
@condition(last_modified_func=_bundle_last_modified)
def elements_bundle(request: HttpRequest) -> HttpResponse:
    """Streams the one file ``elements_bundle_path()`` names; nothing else of node_modules."""
    path = elements_bundle_path()
    try:
        handle = path.open("rb")
    except OSError:
        return HttpResponse(
            "Hanko's web components (@teamhanko/hanko-elements) are not installed.\n"
            "Run bin/setup (it runs npm install), or point the Django setting "
            "HANKOFLOW_ELEMENTS_BUNDLE at dist/elements.js of the package.\n",
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    response = FileResponse(handle, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"  # revalidate with If-Modified-Since after upgrades
    return response
