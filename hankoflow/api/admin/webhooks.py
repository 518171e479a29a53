"""Admin API: database webhooks (platform.md §4.3.10): list (with the hooks from settings),
create, read, replace, delete.

Hooks made here are always active while enabled (``WEBHOOKS.ENABLED`` gates only the settings
hooks); the services (``hankoflow.services.webhooks``) deliver them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.urls import path
from rest_framework.request import Request

from hankoflow.api.admin.base import AdminView
from hankoflow.api.admin.user_scope import ApiError, json_object, parse_uuid
from hankoflow.models import Webhook
from hankoflow.services import webhooks
from hankoflow.services.webhooks import registry

ID_INVALID = "webhook id must be a valid uuid4"
NOT_FOUND = "unable to find webhook with id: %s"  # Hanko: the format string, unformatted (sic)
CALLBACK_MAX_LENGTH = Webhook._meta.get_field("callback").max_length


def _callback(body: dict[str, Any]) -> str:
    value = body.get("callback")
    if value is None or value == "":
        raise ApiError(400, "callback is a required field")
    if not isinstance(value, str) or not _is_url(value):
        raise ApiError(400, "callback must be a valid URL")
    return value


def _is_url(value: str) -> bool:
    # Hanko: accepts any URL; only http(s) URLs with a host can ever be delivered.
    if len(value) > (CALLBACK_MAX_LENGTH or 2048) or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises for a malformed port)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _events(body: dict[str, Any]) -> list[str]:
    value = body.get("events")
    if value is None:
        raise ApiError(400, "events is a required field")
    if not isinstance(value, list):
        raise ApiError(400, "events must be an array")
    if not value:
        raise ApiError(400, "events must contain at least 1 item")
    for index, event in enumerate(value):
        if not webhooks.events.is_subscription(event):
            raise ApiError(400, f"events[{index}] must be a valid webhook event")
    return value


def _enabled(body: dict[str, Any]) -> bool:
    value = body.get("enabled")
    if value is None:
        raise ApiError(400, "enabled is a required field")
    if not isinstance(value, bool):
        raise ApiError(400, "enabled must be a boolean")
    return value


def _hook_or_404(hook_id: str) -> Webhook:
    hook = registry.find(parse_uuid(hook_id, ID_INVALID, v4=True))
    if hook is None:
        raise ApiError(404, NOT_FOUND)
    return hook


class WebhooksView(AdminView):
    def get(self, request: Request) -> JsonResponse:
        database = [registry.as_json(hook) for hook in registry.listed()]
        return JsonResponse({"database": database, "config": webhooks.config_hooks()})

    def post(self, request: Request) -> JsonResponse:
        body = json_object(request)
        callback, events = _callback(body), _events(body)
        hook = registry.create(callback, events)
        return JsonResponse(registry.as_json(hook), status=201)


class WebhookView(AdminView):
    def get(self, request: Request, hook_id: str) -> JsonResponse:
        return JsonResponse(registry.as_json(_hook_or_404(hook_id)))

    def put(self, request: Request, hook_id: str) -> JsonResponse:
        hook = _hook_or_404(hook_id)
        body = json_object(request)
        callback, events, enabled = _callback(body), _events(body), _enabled(body)
        with transaction.atomic():
            hook = registry.replace(hook, callback=callback, events=events, enabled=enabled)
        return JsonResponse(registry.as_json(hook))

    def delete(self, request: Request, hook_id: str) -> HttpResponse:
        registry.delete(_hook_or_404(hook_id))
        return HttpResponse(status=204)


urlpatterns = [
    path("webhooks", WebhooksView.as_view(), name="webhooks"),
    path("webhooks/<str:hook_id>", WebhookView.as_view(), name="webhook"),
]
