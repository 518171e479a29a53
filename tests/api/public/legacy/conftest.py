"""The legacy API is off by default: these tests turn it on (and MFA off, as Hanko v2.7.0
mounted the password and passcode routes only without it)."""

from __future__ import annotations

import pytest

# Records webhook deliveries (a loopback callback nobody answers: the rows are what counts).
HOOK = {"CALLBACK": "http://127.0.0.1:9/hook", "EVENTS": ["user", "session"]}
HOOKS = {"ENABLED": True, "HOOKS": [HOOK]}


@pytest.fixture
def legacy(settings):
    """``legacy(**sections)``: turn the legacy API on and merge the setting sections given."""

    def configure(**sections):
        values = dict(getattr(settings, "HANKOFLOW", {}))
        for name, section in sections.items():
            values[name] = {**values.get(name, {}), **section}
        settings.HANKOFLOW = values

    configure(LEGACY_API={"ENABLED": True}, MFA={"ENABLED": False})
    return configure
