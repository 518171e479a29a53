"""The request id and flow id of the flow step being run, for log records (contextvars).

``hankoflow.http.runner`` binds them for the length of a step, ``hankoflow.http.request_ids``
binds the request id for a whole view (and sends it back as ``X-Request-ID``), and ``task``
binds one while a Celery task runs; the logging filter
``hankoflow.api.request_log.RequestContextFilter`` copies them onto every record, so a format
string can print ``%(request_id)s`` and ``%(flow_id)s`` and one flow can be followed across
workers. The request id is the one the audit log stores (``meta_http_request_id``).

Only the standard library: the logging configuration loads this before Django's apps.
"""

from __future__ import annotations

import contextlib
import contextvars
import secrets
import uuid
from collections.abc import Iterator

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "hankoflow_request_id", default=None
)
flow_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "hankoflow_flow_id", default=None
)


def flow_id_of(action: str | None) -> str | None:
    """The flow id of an ``<action>@<flow id>`` parameter, when it is a well-formed UUID."""
    name, separator, flow = (action or "").partition("@")
    if not (name and separator) or "@" in flow:
        return None
    try:
        return str(uuid.UUID(flow))
    except ValueError:
        return None


class bound:  # noqa: N801 (used like the function it was)
    """``with bound(request, flow):`` log records made inside carry ``request`` and ``flow``
    (None: unknown). A class, not a generator: every flow step enters two of these."""

    __slots__ = ("request", "flow", "tokens")

    def __init__(self, request: str | None, flow: str | None) -> None:
        self.request = request
        self.flow = flow

    def __enter__(self) -> None:
        self.tokens = (request_id.set(self.request), flow_id.set(self.flow))

    def __exit__(self, *exc_info: object) -> None:
        request_id.reset(self.tokens[0])
        flow_id.reset(self.tokens[1])


@contextlib.contextmanager
def task(task_id: str | None, *, eager: bool = False) -> Iterator[None]:
    """While a Celery task runs: its task id as request id (the worker's own log lines name it),
    or a fresh id for a direct call. An eager run inside a request keeps that request's ids."""
    if eager and request_id.get() is not None:
        yield
        return
    with bound(task_id or secrets.token_hex(16), None):
        yield
