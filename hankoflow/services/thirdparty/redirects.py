"""Where the browser may be sent after a third-party sign-in (platform.md §9.3).

``THIRD_PARTY.ALLOWED_REDIRECT_URLS`` and ``ERROR_REDIRECT_URL`` are globs with ``.`` and ``/``
as separators: ``*`` matches within one segment, ``**`` matches anything. A ``redirect_to`` is
allowed when it is an absolute ``http``/``https`` URL with a host (one trailing ``/`` ignored)
that matches a glob *and* passes the host-boundary check, so that ``https://*.example.com``
never lets ``https://example.com.evil.net`` or ``https://badexample.com`` through.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

from hankoflow.conf import settings


def allowed_patterns() -> list[str]:
    """The allow-list: ``ALLOWED_REDIRECT_URLS`` plus ``ERROR_REDIRECT_URL`` (Hanko adds it)."""
    third_party = settings.THIRD_PARTY
    patterns = [p for p in third_party.ALLOWED_REDIRECT_URLS if p]
    if third_party.ERROR_REDIRECT_URL:
        patterns.append(third_party.ERROR_REDIRECT_URL)
    return patterns


def is_allowed(url: str, patterns: list[str] | None = None) -> bool:
    """Whether ``url`` may be a redirect target."""
    if not isinstance(url, str) or not url or len(url) > 2048:
        return False
    if url.endswith("/"):
        url = url[:-1]
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if "\\" in url or any(ord(c) < 0x21 for c in url):
        return False
    for pattern in allowed_patterns() if patterns is None else patterns:
        if _glob(pattern).fullmatch(url) and _host_boundary_ok(pattern, parts):
            return True
    return False


def unsafe_reason(pattern: str) -> str | None:
    """Why a configured pattern is unsafe (a system check), or None."""
    if pattern.endswith("/"):
        return "ends with a slash"
    scheme, sep, rest = pattern.partition("://")
    if not sep or scheme not in ("http", "https"):
        return "does not start with http:// or https://"
    host = _host_part(rest)
    if not host or host.startswith("**") or host in ("*", "*:*"):
        return "allows any host"
    hostname = host.rsplit(":", 1)[0] if ":" in host else host
    labels = hostname.split(".")
    if len(labels) < 2 and "*" in hostname:
        return "allows any host"
    if any("*" in label and label != "*" for label in labels):
        return "has a wildcard inside a host label"
    if hostname.startswith("*") and len([x for x in labels if x != "*"]) < 2:
        return "a wildcard host needs at least two fixed labels (e.g. *.example.com)"
    return None


@lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append(r"[^./]*")
            i += 1
        elif pattern[i] == "?":
            out.append(r"[^./]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out), re.DOTALL)


def _host_part(rest: str) -> str:
    for stop in ("/", "?", "#"):
        rest = rest.split(stop, 1)[0]
    return rest


def _host_boundary_ok(pattern: str, parts) -> bool:
    """The 2026 fix against ``http://127.0.0.1.evil.com``-style bypasses of a host glob."""
    scheme, _, rest = pattern.partition("://")
    if scheme.lower() != parts.scheme.lower():
        return False
    host = _host_part(rest)
    static_prefix = None
    if host.endswith("**"):
        # A trailing ``**`` in the host part allows only the exact static prefix as host.
        static_prefix = host[:-2]
        if "*" in static_prefix:
            return False
        return (parts.hostname or "") == static_prefix.split(":")[0].lower() and (
            ":" not in static_prefix or str(parts.port or "") == static_prefix.split(":", 1)[1]
        )
    hostname, _, port = host.partition(":")
    if port and "*" not in port:
        if parts.port is None or str(parts.port) != port:
            return False
    elif not port and parts.port is not None:
        return False
    url_host = (parts.hostname or "").lower()
    if "*" not in hostname:
        return url_host == hostname.lower()
    want, got = hostname.lower().split("."), url_host.split(".")
    if len(want) != len(got):
        return False
    return all(w == "*" and g or w == g for w, g in zip(want, got, strict=True))
