"""``GET /metrics``: the Prometheus scrape endpoint (``METRICS`` settings, the `metrics` extra).

A plain Django view rather than DRF's: Prometheus wants its own text format and no content
negotiation. 404 while metrics are off, so the endpoint does not show; 403 for a wrong token or
network (``hankoflow.services.metrics.access``).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from hankoflow.services import metrics


@require_http_methods(["GET", "HEAD", "OPTIONS"])
def metrics_view(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":  # as every API route: an empty answer with Allow
        response = HttpResponse(status=204)
        del response["Content-Type"]
        response["Allow"] = "GET, HEAD, OPTIONS"
        return response
    status = metrics.access(request)
    if status != 200:
        return HttpResponse(status=status)
    body, content_type = metrics.exposition()
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response
