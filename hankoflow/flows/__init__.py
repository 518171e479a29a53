"""Hanko's four flows, declared once (flow-api.md §4); ``flows.registry.FLOWS`` lists them.

A flow's lifetime is the ``FLOW.TTL`` setting, which the transport hands to the engine; only
``token_exchange`` declares its own (``.ttl``), Hanko's fixed hour.
"""
