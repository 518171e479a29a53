"""Prometheus metrics: flow steps, their latency, emails, logins and rate-limit hits.

Off unless ``METRICS.ENABLED``; prometheus-client (the ``metrics`` extra) is imported only then,
on first use, so a host without the extra runs as before. Every recorder is a no-op while off.

Labels come from hankoflow's own declarations, never from the request: a flow, state or action
the flow registry does not declare is counted as ``unknown``, so the number of series stays
bounded whatever clients send.

Several worker processes (gunicorn): set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory
shared by the workers before they start; prometheus-client then writes each process's values
there and the ``/metrics`` view sums them (the client's multiprocess mode).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from hankoflow import signals
from hankoflow.conf import settings
from hankoflow.services.client_ip import client_ip

logger = logging.getLogger(__name__)

UNKNOWN = "unknown"
START = "start"  # the action label of a request that starts a flow
OK = "ok"  # the outcome label of a step that answered without an error

# amr values a session can carry (hooks/success.py); anything else is "other".
LOGIN_METHODS = frozenset({"pwd", "otp", "passkey", "totp", "security_key"})
EMAIL_OUTCOMES = frozenset({"sent", "retry", "failed", "stale", "disabled"})

_metrics: dict[str, Any] = {}


def enabled() -> bool:
    return bool(settings.METRICS.ENABLED)


def _get() -> dict[str, Any]:
    """The metric objects, created once per process on first use (duplicates would raise)."""
    if not _metrics:
        from prometheus_client import Counter, Histogram

        _metrics.update(
            steps=Counter(
                "hankoflow_flow_steps",
                "Flow API requests answered, by flow, resulting state, action and outcome "
                "(ok or the error code).",
                ["flow", "state", "action", "outcome"],
            ),
            latency=Histogram(
                "hankoflow_flow_step_duration_seconds",
                "Time to answer one Flow API request, by flow and action.",
                ["flow", "action"],
                buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            ),
            emails=Counter(
                "hankoflow_emails",
                "Outbox emails handled, by outcome (sent, retry, failed, stale, disabled).",
                ["outcome"],
            ),
            logins=Counter(
                "hankoflow_logins",
                "Successful logins (committed), by first authentication method (amr).",
                ["method"],
            ),
            rate_limited=Counter(
                "hankoflow_rate_limit_hits",
                "Requests refused by a rate limit, by bucket.",
                ["bucket"],
            ),
        )
    return _metrics


def step_labels(
    flows: Mapping[str, Any], flow: str, action: str | None, state: str, outcome: str
) -> tuple[str, str, str, str]:
    """Bounded labels of one step: names the declarations of ``flows`` know, else ``unknown``.

    ``state`` is the state the step answered with; ``action`` may be ``<name>@<flow id>``.
    """
    definition = flows.get(flow)
    if definition is None:
        return UNKNOWN, UNKNOWN, UNKNOWN, outcome
    state_label = state if state in definition.states else UNKNOWN
    action = (action or "").partition("@")[0]  # the query parameter is <action>@<flow id>
    if not action:
        action_label = START
    elif any(s.action(action) is not None for s in definition.states.values()):
        action_label = action
    else:
        action_label = UNKNOWN
    return flow, state_label, action_label, outcome


def record_step(flow: str, state: str, action: str, outcome: str, seconds: float) -> None:
    """One answered Flow API request; the labels must come from ``step_labels``."""
    if not enabled():
        return
    metrics = _get()
    metrics["steps"].labels(flow, state, action, outcome).inc()
    metrics["latency"].labels(flow, action).observe(seconds)


def record_email(outcome: str) -> None:
    if enabled() and outcome in EMAIL_OUTCOMES:
        _get()["emails"].labels(outcome).inc()


def record_rate_limited(bucket: str) -> None:
    if enabled():
        _get()["rate_limited"].labels(bucket).inc()


def _on_login(sender: Any, amr: Iterable[str] = (), **kwargs: Any) -> None:
    if not enabled():
        return
    first = next(iter(amr), "")
    method = first if first in LOGIN_METHODS else "other"
    # The signal is sent inside the step's transaction: count only what commits.
    transaction.on_commit(lambda: _get()["logins"].labels(method).inc())


signals.login_succeeded.connect(_on_login, dispatch_uid="hankoflow.services.metrics")


# --- the /metrics endpoint ---------------------------------------------------------------------


def access(request: HttpRequest) -> int:
    """200 when ``request`` may read the metrics, 404 while they are off, 403 otherwise.

    Each configured guard must pass: ``METRICS.TOKEN`` as ``Authorization: Bearer <token>``
    and ``METRICS.ALLOWED_NETWORKS`` (CIDRs) for the client IP. With neither set, nobody may.
    """
    if not enabled():
        return 404
    token = settings.METRICS.TOKEN or ""
    networks = tuple(settings.METRICS.ALLOWED_NETWORKS or ())
    if not token and not networks:
        return 403
    if token:
        scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        expected = token.encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            return 403
    if networks and not _in_networks(client_ip(request), networks):
        return 403
    return 200


def exposition() -> tuple[bytes, str]:
    """The scrape body and its content type; sums all workers in multiprocess mode."""
    from prometheus_client import (
        CONTENT_TYPE_LATEST,
        REGISTRY,
        CollectorRegistry,
        generate_latest,
        multiprocess,
    )

    _get()  # the series exist (at zero) from the first scrape on
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


@lru_cache(maxsize=8)
def _parsed(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(str(cidr), strict=False))
        except ValueError:
            # A typo lets nobody in through that entry; it must not turn scrapes into 500s.
            logger.error("METRICS.ALLOWED_NETWORKS: %r is not a network; ignored", cidr)
    return tuple(networks)


def _in_networks(address: str, cidrs: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in _parsed(cidrs) if ip.version == net.version)
