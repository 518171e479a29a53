"""A logging filter that puts the request, its id and the flow id on log records.

Django logs every 5xx answer and unhandled exception to ``django.request`` with the request
attached, but its message names only the path. This filter adds ``method``, ``path``,
``flow_id`` (from the ``action`` query parameter, ``<action>@<flow id>``) and ``request_id`` (the
id the audit log stores as ``meta_http_request_id``: a sane ``X-Request-ID`` header, else a
random one) so a format string can print them; ``-`` where there is none. Records without a
request (hankoflow's own loggers) take the ids of the flow step being run from
``hankoflow.http.log_context``, so one flow can be followed across workers. The values come from
the client, so control characters are escaped (as Django escapes its own message) and only a
well-formed UUID counts as a flow id.

On ``django.request`` attach it to the logger; for hankoflow's loggers attach it to their
handler, which also sees the records of child loggers (``hankoflow.engine``, ...). Logging is
configured before Django's apps load: this module imports nothing of Django, and of hankoflow only
the standard-library ``log_context``.
"""

from __future__ import annotations

import contextlib
import logging

from hankoflow.http import log_context

MISSING = "-"


def _escaped(value: str) -> str:
    return value.encode("unicode_escape").decode("ascii")


# Where hankoflow.services.audit keeps the request's id (set by its first use in the request).
_REQUEST_ID_ATTR = "_hankoflow_request_id"


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        record.method = record.path = MISSING
        record.flow_id = log_context.flow_id.get() or MISSING
        record.request_id = _escaped(log_context.request_id.get() or MISSING)
        if request is None:
            return True
        # A log line must never fail because of its context: take what can be read.
        with contextlib.suppress(Exception):
            record.method = _escaped(str(request.method))
            record.path = _escaped(str(request.path))
            record.flow_id = log_context.flow_id_of(request.GET.get("action")) or MISSING
            record.request_id = _escaped(getattr(request, _REQUEST_ID_ATTR, None) or MISSING)
        return True
