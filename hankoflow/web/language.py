"""The language of the HTML pages: the request's, as Django or the emails would choose it.

With Django's ``LocaleMiddleware`` the host decides (URL prefix, cookie, Accept-Language) and
the pages follow the language it activated. Without it, the pages choose as the emails do
(``language_for`` of the emails): the ``X-Language`` header, else the browser's
``Accept-Language``, among the nine languages hankoflow has texts for, English otherwise. The
flow page also hands that language on to the flow, so the emails it triggers match the page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers

from hankoflow.emails import language_for

View = Callable[..., HttpResponse]


def page_language(request: HttpRequest) -> str:
    """The Django language code the page should speak."""
    if hasattr(request, "LANGUAGE_CODE"):  # set by LocaleMiddleware
        return translation.get_language() or request.LANGUAGE_CODE
    chosen = request.headers.get("X-Language") or request.headers.get("Accept-Language", "")
    return language_for(chosen)


def in_page_language(view: View) -> View:
    """Render ``view`` in ``page_language``; say so in ``Content-Language`` and ``Vary``."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language = page_language(request)
        with translation.override(language):
            response = view(request, *args, **kwargs)
        response.setdefault("Content-Language", language)
        patch_vary_headers(response, ("Accept-Language", "X-Language"))
        return response

    return wrapped


def tell_flow_the_language(request: HttpRequest) -> None:
    """Let the flow's emails use the page's language when the browser sent no ``X-Language``.

    The page is the flow's client here, and sends the language it shows, as hanko-elements
    sends its ``lang``. ``request.headers`` is cached, so the cached copy is dropped.
    """
    if "HTTP_X_LANGUAGE" in request.META:
        return
    request.META["HTTP_X_LANGUAGE"] = translation.get_language() or "en"
    request.__dict__.pop("headers", None)
