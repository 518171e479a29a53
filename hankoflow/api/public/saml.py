"""``/saml/*`` (platform.md §9.6, §3.3.7): hankoflow as a SAML 2.0 service provider.

``GET /saml/metadata`` gives the SP metadata (or its certificate), ``GET /saml/auth`` sends the
browser to the IdP, ``POST /saml/callback`` is the assertion consumer service for SP- and
IdP-initiated sign-ins, ``GET /saml/provider`` (legacy) shows a provider's configuration. All
answer 403 while ``SAML.ENABLED`` is off.
"""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from rest_framework.request import Request

from hankoflow.api.public.base import PublicView
from hankoflow.conf import settings
from hankoflow.http.request import request_env
from hankoflow.services.saml import dance, providers, sp
from hankoflow.services.thirdparty.dance import add_query


def _json(status: int, message: str) -> JsonResponse:
    return JsonResponse({"code": status, "message": message}, status=status)


def _disabled() -> JsonResponse | None:
    if settings.SAML.ENABLED:
        return None
    return _json(403, "SAML is not enabled for this tenant")


class MetadataView(PublicView):
    def get(self, request: Request) -> HttpResponse:
        if disabled := _disabled():
            return disabled
        domain = request.GET.get("domain", "")
        if not domain:
            return _json(400, "domain is required")
        provider = providers.by_domain(domain)
        if provider is None:
            return _json(404, "provider not found")
        name = settings.SERVICE.NAME
        try:
            if request.GET.get("cert_only") == "true":
                body, filename = sp.certificate_pem(), f"{name}-service-provider.pem"
            else:
                body, filename = sp.metadata_xml(), f"{name}-metadata.xml"
        except sp.NotConfigured:
            return _json(500, "Internal Server Error")
        response = HttpResponse(body, content_type="application/octet-stream")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class AuthView(PublicView):
    def get(self, request: Request) -> HttpResponse:
        if disabled := _disabled():
            return disabled
        try:
            started = dance.start(request.GET.get("domain", ""), request.GET.get("redirect_to", ""))
        except dance.StartRefused as refused:
            # Hanko: errors go to the Referer, whatever it is; we use it only when the
            # allow-list allows it, else SAML.DEFAULT_REDIRECT_URL.
            referer = request.META.get("HTTP_REFERER", "")
            target = referer if dance.is_allowed(referer) else settings.SAML.DEFAULT_REDIRECT_URL
            if not target:
                return _json(400, refused.description)
            response = HttpResponse(status=303)
            response["Location"] = add_query(
                target, {"error": refused.code, "error_description": refused.description}
            )
            return response
        response = HttpResponse(status=307)
        response["Location"] = started.location
        response["Cache-Control"] = "no-store"
        return response


class CallbackView(PublicView):
    def post(self, request: Request) -> HttpResponse:
        if disabled := _disabled():
            return disabled
        form = request._request.POST
        fields = {k: form.get(k, "") for k in ("SAMLResponse", "RelayState")}
        finished = dance.finish(fields, request_env(request._request))
        if finished.location is None:
            return _json(400, "no redirect target for the SAML callback")
        # 302 with the token, 303 with an error (Hanko's codes).
        response = HttpResponse(status=302 if finished.succeeded else 303)
        response["Location"] = finished.location
        response["Cache-Control"] = "no-store"
        return response


class ProviderView(PublicView):
    """Legacy ``GET /saml/provider?domain=`` (platform.md §3.3.7)."""

    def get(self, request: Request) -> HttpResponse:
        if disabled := _disabled():
            return disabled
        domain = request.GET.get("domain", "")
        if not domain:
            return _json(400, "domain is required")
        provider = next((p for p in providers.configured() if p.domain == domain.lower()), None)
        if provider is None:
            return _json(404, "provider not found")
        return JsonResponse(
            {
                "enabled": provider.enabled,
                "name": provider.name,
                "domain": provider.domain,
                "metadata_url": provider.metadata_url,
                "skip_email_verification": provider.skip_email_verification,
                "attribute_map": provider.attribute_map,
            }
        )
