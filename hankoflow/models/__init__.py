"""hankoflow's models, one module per aggregate."""

from hankoflow.models.flows import Flow

__all__ = ["Flow"]
