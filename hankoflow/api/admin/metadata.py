"""Admin API: a user's metadata, ``/users/{user_id}/metadata`` (platform.md §4.3.6).

``PATCH`` is an RFC 7386 merge patch of ``{"public_metadata", "private_metadata",
"unsafe_metadata"}`` applied through ``services/metadata.py`` under the account's row lock, all
three categories or none. Hanko has no audit type for a metadata change and writes none; neither
do we (the profile's ``patch_metadata`` writes none either).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.urls import path
from rest_framework.request import Request

from hankoflow.api.admin.user_scope import ApiError, UserResourceView, json_body, user_or_404
from hankoflow.models import Account
from hankoflow.services import accounts, metadata

BODY_INVALID = "metadata patch must be an object or null"


def _answer(account: Account) -> HttpResponse:
    """200 with the non-empty categories, or 204 when all three are empty."""
    data = {
        category: value
        for category in metadata.CATEGORIES
        if (value := metadata.read(account, category)) is not None
    }
    if not data:
        return HttpResponse(status=204)
    return JsonResponse(data)


def _changes(body: Any) -> dict[str, dict[str, Any] | None]:
    """The patch of each category the body names (all three cleared for a null body)."""
    if body is None:
        return dict.fromkeys(metadata.CATEGORIES)
    if not isinstance(body, dict):
        raise ApiError(400, BODY_INVALID)
    changes: dict[str, dict[str, Any] | None] = {}
    for category in metadata.CATEGORIES:  # other top-level keys are ignored
        if category not in body:
            continue
        value = body[category]
        if value is not None and not isinstance(value, dict):
            raise ApiError(400, f"{category} must be an object or null")
        if value != {}:  # {}: nothing to change
            changes[category] = value
    return changes


class MetadataView(UserResourceView):
    def get(self, request: Request, user_id: str) -> HttpResponse:
        return _answer(user_or_404(user_id))

    def patch(self, request: Request, user_id: str) -> HttpResponse:
        account = user_or_404(user_id)
        if not request._request.body.strip():
            raise ApiError(400, BODY_INVALID)  # only an explicit null clears everything
        changes = _changes(json_body(request))
        with transaction.atomic():
            account = accounts.lock(account)  # two patches at once must not lose one
            for category, change in changes.items():
                try:
                    metadata.patch(account, category, change)
                except metadata.MetadataInvalid as exc:
                    # Raising rolls back the categories already patched.
                    message = f"metadata limit exceeded: {category}: {exc.cause}"
                    raise ApiError(400, message) from None
        return _answer(account)


urlpatterns = [
    path("users/<str:user_id>/metadata", MetadataView.as_view(), name="user-metadata"),
]
