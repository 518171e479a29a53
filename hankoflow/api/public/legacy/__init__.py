"""Hanko v2's endpoint-style public API (platform.md §3.3), behind ``LEGACY_API.ENABLED``.

One module per resource; each view is a ``LegacyView`` that answers 404 while the setting is off
or while Hanko v2.7.0 would not have mounted its route (``available``). The views call the same
services as the flows.
"""
