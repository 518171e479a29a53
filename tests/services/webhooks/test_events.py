"""The event catalogue and prefix matching (platform.md §5.2)."""

from __future__ import annotations

import pytest

from hankoflow.services.webhooks import events


def test_the_28_subscription_values_and_19_emitted_events():
    assert len(events.SUBSCRIPTIONS) == len(set(events.SUBSCRIPTIONS)) == 28
    assert len(events.EMITTED) == 19
    # Every leaf can be subscribed to by its own name.
    assert set(events.SUBSCRIPTIONS) >= events.EMITTED


@pytest.mark.parametrize(
    ("subscriptions", "event", "expected"),
    [
        (["user"], "user.login", True),
        (["user"], "user.update.email.create", True),
        (["user.update"], "user.update.password.update", True),
        (["user.update.email"], "user.update.username.create", False),
        (["session"], "session.delete.passive.limit", True),
        (["session.delete.explicit"], "session.delete.passive.expire", False),
        (["email.send"], "email.send", True),
        (["user.create", "email.send"], "email.send", True),
        (["user"], "email.send", False),
        ([], "user.login", False),
        (["user"], "", False),  # Hanko's empty event matches nothing
    ],
)
def test_prefix_matching(subscriptions, event, expected):
    assert events.matches(subscriptions, event) is expected


@pytest.mark.parametrize("value", ["user", "session.delete.admin", "email.send"])
def test_valid_subscriptions(value):
    assert events.is_subscription(value)


@pytest.mark.parametrize("value", ["users", "email", "session.delete.admin.", "", None, 3])
def test_invalid_subscriptions(value):
    assert not events.is_subscription(value)


def test_the_system_check_validates_settings_hooks():
    from django.core.checks import run_checks
    from django.test import override_settings

    good = {"CALLBACK": "https://hooks.example.com/", "EVENTS": ["user", "session"]}
    bad = [
        {"CALLBACK": "ftp://x", "EVENTS": ["user"]},
        {"callback": "https://x.example.com/", "events": []},
        {"CALLBACK": "https://x.example.com/", "EVENTS": ["users"]},
        "https://x.example.com/",
    ]
    with override_settings(HANKOFLOW={"WEBHOOKS": {"HOOKS": [good]}}):
        assert not [m for m in run_checks() if m.id == "hankoflow.E040"]
    with override_settings(HANKOFLOW={"WEBHOOKS": {"HOOKS": [good, *bad]}}):
        messages = [m.msg for m in run_checks() if m.id == "hankoflow.E040"]
    assert messages == [
        "HANKOFLOW[WEBHOOKS.HOOKS][1]: CALLBACK must be an http or https URL.",
        "HANKOFLOW[WEBHOOKS.HOOKS][2]: EVENTS must list at least one event.",
        "HANKOFLOW[WEBHOOKS.HOOKS][3]: unknown events ['users'] (see platform.md §5.2).",
        "HANKOFLOW[WEBHOOKS.HOOKS][4] must be a dict with CALLBACK and EVENTS.",
    ]
