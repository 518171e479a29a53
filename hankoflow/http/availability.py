"""Telling a database outage from a bug, so that an outage answers 503 with ``Retry-After``.

Hanko answers 500 ``technical_error`` whenever its database fails. A 500 says the server is
broken; a 503 with ``Retry-After`` tells clients and load balancers to try again shortly, which
is right when the database cannot be reached. Only that counts as an outage: a connection or
interface error *and* a database that does not answer a probe right after. A missing table or
bad SQL (``ProgrammingError``, SQLite's "no such table") leaves the database reachable and stays
a 500.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import InterfaceError, OperationalError
from django.http import JsonResponse
from django.http.response import HttpResponseBase

from hankoflow.models import Flow
from hankoflow.services import flow_store

# Seconds a client should wait before retrying; long enough for a database failover or restart
# to be noticed, short enough that a person retrying by hand is not kept waiting.
RETRY_AFTER_SECONDS = 5
CONNECTION_ERRORS = (OperationalError, InterfaceError)


def _flow_connection() -> BaseDatabaseWrapper:
    return connections[router.db_for_write(Flow)]


def database_connects() -> bool:
    """Cheap: connects if this thread holds no connection, else trusts the one it has."""
    try:
        _flow_connection().ensure_connection()
    except CONNECTION_ERRORS:
        return False
    return True


def database_reachable() -> bool:
    """A real round trip (``SELECT 1`` on PostgreSQL); for after something already failed."""
    connection = _flow_connection()
    try:
        connection.ensure_connection()
        return connection.is_usable() and flow_store.reachable()  # Redis, if flows live there
    except CONNECTION_ERRORS:
        return False


def is_outage(exc: BaseException | None) -> bool:
    """Whether ``exc`` comes from a database that cannot be reached right now."""
    errors = CONNECTION_ERRORS + flow_store.outage_errors()
    return isinstance(exc, errors) and not database_reachable()


@dataclass(frozen=True)
class RetryAfter:
    """A response effect: ``Retry-After`` on a 503."""

    seconds: int = RETRY_AFTER_SECONDS

    def apply_to(self, response: HttpResponseBase) -> None:
        response["Retry-After"] = str(self.seconds)


def unavailable_response() -> JsonResponse:
    """Hanko's non-flow error body (``{"code", "message"}``) for a 503."""
    response = JsonResponse({"code": 503, "message": "Service Unavailable"}, status=503)
    response["Cache-Control"] = "no-store"
    RetryAfter().apply_to(response)
    return response
