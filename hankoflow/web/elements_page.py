"""``/elements/``: Hanko's own web components (``<hanko-auth>``) talking to this server;
``/elements/profile/``: ``<hanko-profile>`` for a signed-in person, ``<hanko-auth>`` otherwise.

The page loads Hanko's ``@teamhanko/hanko-elements`` bundle (``dist/elements.js``, MIT), which
ships inside hankoflow under ``static/hankoflow/vendor/hanko-elements/`` with its licence, so a
pip install needs no npm. ``elements_bundle`` serves that one file; the Django setting
``HANKOFLOW_ELEMENTS_BUNDLE`` points it at another copy (another version needs its own style hash
in ``headers.py``).
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
from hankoflow.web.files import STATIC_DIR
from hankoflow.web.headers import ELEMENTS_PAGE_POLICY, with_policy

# @teamhanko/hanko-elements 2.7.0, the version HANKO_ELEMENTS_STYLE_HASH belongs to.
ELEMENTS_BUNDLE = STATIC_DIR / "vendor" / "hanko-elements" / "elements.js"


def elements_bundle_path() -> Path:
    """``settings.HANKOFLOW_ELEMENTS_BUNDLE`` or the copy shipped in the package."""
    configured = getattr(django_settings, "HANKOFLOW_ELEMENTS_BUNDLE", None)
    return Path(configured) if configured else ELEMENTS_BUNDLE


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
    return render(request, "hankoflow/web/elements.html", _elements_context(request))


@with_policy(ELEMENTS_PAGE_POLICY)
@require_http_methods(["GET", "HEAD"])
def elements_profile_page(request: HttpRequest) -> HttpResponse:
    """``<hanko-profile>`` for a signed-in person, ``<hanko-auth>`` otherwise, with logout.

    The page script (``elements-profile.js``) asks ``/sessions/validate`` which one to show, so
    the page itself is the same for everyone and never holds the session.
    """
    return render(request, "hankoflow/web/elements_profile.html", _elements_context(request))


def _elements_context(request: HttpRequest) -> dict[str, object]:
    return {
        "bundle_missing": not elements_bundle_path().is_file(),
        "elements_config": {
            "api": api_base_url(request),
            "bundle": reverse("hankoflow_web:elements-bundle"),
        },
    }


def _bundle_last_modified(request: HttpRequest) -> datetime | None:
    try:
        return datetime.fromtimestamp(os.stat(elements_bundle_path()).st_mtime, tz=UTC)
    except OSError:
        return None


@require_http_methods(["GET", "HEAD"])
@condition(last_modified_func=_bundle_last_modified)
def elements_bundle(request: HttpRequest) -> HttpResponse:
    """Streams the one file ``elements_bundle_path()`` names."""
    path = elements_bundle_path()
    try:
        handle = path.open("rb")
    except OSError:
        return HttpResponse(
            "Hanko's web components (@teamhanko/hanko-elements) were not found at the path\n"
            "the Django setting HANKOFLOW_ELEMENTS_BUNDLE names. Point it at dist/elements.js\n"
            "of @teamhanko/hanko-elements 2.7.0, or remove the setting to use the copy that\n"
            "ships with hankoflow.\n",
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    response = FileResponse(handle, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"  # revalidate with If-Modified-Since after upgrades
    return response
