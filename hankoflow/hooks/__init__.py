"""Hooks: work done on state transitions without being visible as actions (flow-api.md §2.7)."""
