"""Hanko's public API: flows, well-known documents, health."""
