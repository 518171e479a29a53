"""Reusable groups of states shared by login, registration and profile (flow-api.md §4.0)."""
