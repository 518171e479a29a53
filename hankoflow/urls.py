"""hankoflow's public routes; include them at the root or under a prefix.

``path("", include("hankoflow.urls"))`` serves ``/login``, ``/registration``, ``/profile``,
``/token_exchange``, ``/.well-known/config`` and ``/health/*``.
"""

from django.urls import path

from hankoflow.api.public.flows import FlowView
from hankoflow.api.public.health import AliveView, ReadyView
from hankoflow.api.public.wellknown import ConfigView
from hankoflow.flows.registry import FLOWS

app_name = "hankoflow"

urlpatterns = [
    *(path(name, FlowView.as_view(flow_name=name), name=f"flow-{name}") for name in FLOWS),
    path(".well-known/config", ConfigView.as_view(), name="well-known-config"),
    path("health/alive", AliveView.as_view(), name="health-alive"),
    path("health/ready", ReadyView.as_view(), name="health-ready"),
]
