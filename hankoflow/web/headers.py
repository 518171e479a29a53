"""Security headers of the HTML pages: a strict Content-Security-Policy, no framing.

The flow page loads exactly one script (``/webauthn.js``) and one stylesheet (``/hankoflow.css``),
both from this server, and has no inline script, style or event handler; its only other script
element is a JSON data block, which browsers never run. So the policy allows scripts and styles
from this origin only, and nothing at all from anywhere else. ``form-action 'self'`` keeps the
forms (and webauthn.js's ``back`` submit) on this origin; ``base-uri 'none'`` stops an injected
``<base>`` from redirecting relative URLs. The ``<noscript>`` meta refresh of ``preflight`` is
not governed by CSP, and passkey autofill needs nothing beyond the script.

The page's favicon is an empty ``data:`` URL (so browsers do not ask for ``/favicon.ico``), hence
``img-src data:``.

The ``/elements/`` page runs Hanko's bundle, which calls this server's API (``connect-src``) and
puts one ``<style>`` element into its shadow DOM. Rather than ``'unsafe-inline'``, the policy
allows exactly that style by its hash, which belongs to the pinned hanko-elements 2.7.0: another
version of the bundle needs its own hash (Chromium's console names it when it refuses a style).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse


def _policy(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in directives.items())


FLOW_PAGE_DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}
FLOW_PAGE_POLICY = _policy(FLOW_PAGE_DIRECTIVES)
# The <style> that @teamhanko/hanko-elements 2.7.0 creates in <hanko-auth>'s shadow root.
HANKO_ELEMENTS_STYLE_HASH = "'sha256-woHVTquHAv1s4EpJ1rSIorUQRcWvnD/wQyBs3uZ3teE='"
ELEMENTS_PAGE_POLICY = _policy(
    {
        **FLOW_PAGE_DIRECTIVES,
        "style-src": f"'self' {HANKO_ELEMENTS_STYLE_HASH}",
        "connect-src": "'self'",
    }
)


View = Callable[..., HttpResponse]


def with_policy(policy: str) -> Callable[[View], View]:
    """Decorate a page view: its responses get ``policy`` and the headers that go with it."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response = view(request, *args, **kwargs)
            response["Content-Security-Policy"] = policy
            # Older browsers know no frame-ancestors; Django's middlewares set these only when
            # a project lists them, and leave values set here alone.
            response.setdefault("X-Frame-Options", "DENY")
            response.setdefault("Referrer-Policy", "same-origin")
            response.setdefault("X-Content-Type-Options", "nosniff")
            return response

        return wrapped

    return decorate
