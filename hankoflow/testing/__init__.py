"""Public test helpers for hankoflow and the projects that embed it."""
