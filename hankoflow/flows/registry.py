"""Every flow by its wire name, as the transports look them up."""

from hankoflow.engine import FlowDefinition
from hankoflow.flows.login import login
from hankoflow.flows.profile import profile
from hankoflow.flows.registration import registration
from hankoflow.flows.token_exchange import token_exchange

FLOWS: dict[str, FlowDefinition] = {
    flow.name: flow for flow in (login, registration, profile, token_exchange)
}
