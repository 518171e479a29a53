"""A logging filter that puts the request and the flow id on ``django.request`` records.

Django logs every 5xx answer and unhandled exception to ``django.request`` with the request
attached, but its message names only the path. This filter adds ``method``, ``path`` and
``flow_id`` (from the ``action`` query parameter, ``<action>@<flow id>``) so a format string can
print them; ``-`` where there is none. The values come from the client, so control characters
are escaped (as Django escapes its own message) and only a well-formed UUID counts as a flow id.

Attach it to the logger, not a handler, so every handler sees the fields. Logging is configured
before Django's apps load: this module imports nothing of Django or hankoflow.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from typing import Any

MISSING = "-"


def _escaped(value: str) -> str:
    return value.encode("unicode_escape").decode("ascii")


def flow_id_of(request: Any) -> str | None:
    """The flow id of ``?action=<name>@<flow id>``, or None when absent or malformed."""
    name, separator, flow_id = request.GET.get("action", "").partition("@")
    if not (name and separator) or "@" in flow_id:
        return None
    try:
        return str(uuid.UUID(flow_id))
    except ValueError:
        return None


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        record.method = record.path = record.flow_id = MISSING
        if request is None:
            return True
        # A log line must never fail because of its context: take what can be read.
        with contextlib.suppress(Exception):
            record.method = _escaped(str(request.method))
            record.path = _escaped(str(request.path))
            record.flow_id = flow_id_of(request) or MISSING
        return True
