"""Hanko's four flows (flow-api.md §4) and two beyond Hanko (issue 15: ``password_recovery``,
``invited_registration``), declared once; ``flows.registry.FLOWS`` lists them.

A flow's lifetime is the ``FLOW.TTL`` setting, which the transport hands to the engine; only
``token_exchange`` declares its own (``.ttl``), Hanko's fixed hour.
"""
