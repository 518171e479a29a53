"""``GET /.well-known/config`` (platform.md §3.3.6): the public configuration summary."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse, JsonResponse
from rest_framework.request import Request

from hankoflow.api.public.base import PublicView
from hankoflow.conf import settings
from hankoflow.services.saml import providers as saml_providers
from hankoflow.services.thirdparty import providers as thirdparty_providers


def public_config() -> dict[str, Any]:
    return {
        "password": {
            "enabled": settings.PASSWORD.ENABLED,
            "min_password_length": settings.PASSWORD.MIN_LENGTH,
        },
        "emails": {
            "require_verification": settings.EMAIL.REQUIRE_VERIFICATION,
            "max_num_of_addresses": settings.EMAIL.LIMIT,
        },
        # Only providers that work: enabled, supported and with credentials (Hanko lists every
        # enabled built-in, even one that cannot sign anybody in).
        "providers": [p.display_name for p in thirdparty_providers.enabled() if not p.custom],
        "account": {
            "allow_deletion": settings.ACCOUNT.ALLOW_DELETION,
            "allow_signup": settings.ACCOUNT.ALLOW_SIGNUP,
        },
        "use_enterprise": bool(saml_providers.enabled()),
    }


class ConfigView(PublicView):
    def get(self, request: Request) -> HttpResponse:
        return JsonResponse(public_config())
