"""Every flow by its wire name, as the transports look them up.

``HANKO_FLOWS`` are Hanko's four. ``password_recovery`` and ``invited_registration`` are beyond
Hanko (issue 15): served by both dialects, in the Hanko dialect at ``POST /password_recovery`` and
``POST /invited_registration`` with the same state object. Their states reuse Hanko's names where
they mean the same; hanko-elements cannot start them and do not know their own new states.
"""

from hankoflow.engine import FlowDefinition
from hankoflow.flows.invited_registration import invited_registration
from hankoflow.flows.login import login
from hankoflow.flows.password_recovery import password_recovery
from hankoflow.flows.profile import profile
from hankoflow.flows.registration import registration
from hankoflow.flows.token_exchange import token_exchange

HANKO_FLOWS: dict[str, FlowDefinition] = {
    flow.name: flow for flow in (login, registration, profile, token_exchange)
}
BEYOND_HANKO_FLOWS: dict[str, FlowDefinition] = {
    flow.name: flow for flow in (password_recovery, invited_registration)
}
FLOWS: dict[str, FlowDefinition] = {**HANKO_FLOWS, **BEYOND_HANKO_FLOWS}
