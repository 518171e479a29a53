"""``X-Request-ID`` on the answers of hankoflow's views, and their request id on log lines.

The id is the one the audit log stores (``hankoflow.services.audit.request_id``: a sane incoming
``X-Request-ID``, else a random one), so a client, the log lines and the audit trail of one
request can be matched. ``with_request_id`` decorates a view function; ``RequestIdMixin`` goes
on a class-based view (every public API view has it through ``PublicView``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from hankoflow.http import log_context
from hankoflow.services import audit

HEADER = "X-Request-ID"

View = Callable[..., HttpResponse]


def with_request_id(view: View) -> View:
    """Bind the request's id for the view's log lines and send it back as ``X-Request-ID``."""

    @functools.wraps(view)
    def answer(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return answered(view, request, *args, **kwargs)

    return answer


class RequestIdMixin:
    """``with_request_id`` for a class-based view (put it before the view class)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # No wrapper built per request: every flow step passes through here.
        return answered(super().dispatch, request, *args, **kwargs)  # type: ignore[misc]


def answered(view: View, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """``view``'s answer to ``request``, its log lines and ``X-Request-ID`` carrying the id."""
    request_id = audit.request_id(request)
    with log_context.bound(request_id, None):
        response = view(request, *args, **kwargs)
    response[HEADER] = request_id
    return response
