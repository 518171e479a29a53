"""hankoflow's public routes; include them at the root or under a prefix.

``path("", include("hankoflow.urls"))`` serves ``/login``, ``/registration``, ``/profile``,
``/token_exchange``, ``/.well-known/config``, ``/.well-known/jwks.json``, ``/sessions/validate``,
``/me``, ``/users/<id>``, ``/logout``, ``/health/*``, ``/metrics`` (404 unless
``METRICS.ENABLED``), ``/thirdparty/auth``, ``/thirdparty/callback``, ``/saml/*``, and the
Flow Execution API: ``/flow/execute``, its page ``/flow/execute/page`` and ``/flow/assertion``;
with ``LEGACY_API.ENABLED`` Hanko v2's endpoint-style routes (``api/public/legacy/urls.py``).
"""

from django.urls import path

from hankoflow.api.metrics import metrics_view
from hankoflow.api.public import saml
from hankoflow.api.public.flow_execution import FlowExecutionView, UserAssertionView
from hankoflow.api.public.flow_execution_page import flow_execution_page
from hankoflow.api.public.flows import FlowView
from hankoflow.api.public.health import AliveView, ReadyView
from hankoflow.api.public.legacy import urls as legacy_urls
from hankoflow.api.public.sessions import (
    JWKSView,
    LogoutView,
    MeView,
    UserView,
    ValidateSessionView,
)
from hankoflow.api.public.thirdparty import AuthView, CallbackView
from hankoflow.api.public.wellknown import ConfigView
from hankoflow.flows.registry import FLOWS

app_name = "hankoflow"

urlpatterns = [
    *(path(name, FlowView.as_view(flow_name=name), name=f"flow-{name}") for name in FLOWS),
    path(".well-known/config", ConfigView.as_view(), name="well-known-config"),
    path(".well-known/jwks.json", JWKSView.as_view(), name="jwks"),
    path("sessions/validate", ValidateSessionView.as_view(), name="sessions-validate"),
    path("me", MeView.as_view(), name="me"),
    path("users/<str:user_id>", UserView.as_view(), name="user"),
    path("logout", LogoutView.as_view(), name="logout"),
    path("health/alive", AliveView.as_view(), name="health-alive"),
    path("health/ready", ReadyView.as_view(), name="health-ready"),
    path("metrics", metrics_view, name="metrics"),
    path("thirdparty/auth", AuthView.as_view(), name="thirdparty-auth"),
    path("thirdparty/callback", CallbackView.as_view(), name="thirdparty-callback"),
    path("flow/execute", FlowExecutionView.as_view(), name="flow-execute"),
    path("flow/execute/page", flow_execution_page, name="flow-execute-page"),
    path("flow/assertion", UserAssertionView.as_view(), name="flow-assertion"),
    path("saml/metadata", saml.MetadataView.as_view(), name="saml-metadata"),
    path("saml/auth", saml.AuthView.as_view(), name="saml-auth"),
    path("saml/callback", saml.CallbackView.as_view(), name="saml-callback"),
    path("saml/provider", saml.ProviderView.as_view(), name="saml-provider"),
    # Hanko v2's endpoint-style API: 404 unless LEGACY_API.ENABLED.
    *legacy_urls.urlpatterns,
]
