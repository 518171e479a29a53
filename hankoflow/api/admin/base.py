"""The base of every admin API view: an API key, JSON in and out, Hanko's error body."""

from __future__ import annotations

from typing import Any

from hankoflow.api.admin.authentication import ApiKeyAuthentication, KeyScope
from hankoflow.api.public.base import PublicView


class AdminView(PublicView):
    """``request.auth`` is the caller's ``ApiKey``; errors are ``{"code", "message"}``."""

    authentication_classes: list[Any] = [ApiKeyAuthentication]
    permission_classes: list[Any] = [KeyScope]
