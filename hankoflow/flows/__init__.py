"""Hanko's four flows, declared once (flow-api.md §4); ``flows.registry.FLOWS`` lists them."""
