"""``?next=``: where the flow page sends a person once the flow has succeeded.

Django's ``login_required`` sends a signed-out person to ``LOGIN_URL?next=<path>``. The page
keeps ``next`` across the flow's steps (a hidden field of every form, and the links it prints)
and, on ``success``, its Continue button leads there, or to ``settings.LOGIN_REDIRECT_URL`` when
there is none. Only same-site relative paths are kept: anything else (another host, a scheme,
``//host``, backslashes, control characters) is dropped, so the page is no open redirect.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme

FIELD_NEXT = "next"
MAX_LENGTH = 2048


def safe_next(request: HttpRequest, value: str | None) -> str:
    """``value`` when it is a same-site path (``/...``) safe to send the person to, else ``""``."""
    if not value or len(value) > MAX_LENGTH or not value.startswith("/"):
        return ""
    # Browsers read ``/\host`` and ``//host`` as another host; they also drop tabs and newlines.
    if value.startswith("//") or "\\" in value or not value.isprintable():
        return ""
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return ""
    allowed = url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return value if allowed else ""


def requested_next(request: HttpRequest) -> str:
    """The safe ``next`` of this request: the posted form's field, else the query string's."""
    source = request.POST if request.method == "POST" else request.GET
    return safe_next(request, source.get(FIELD_NEXT))


def continue_url(next_url: str) -> str:
    """Where the success page's Continue button leads."""
    return next_url or resolve_url(django_settings.LOGIN_REDIRECT_URL)
