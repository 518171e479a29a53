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
