"""The webhook event catalogue (platform.md §5.2): what a hook may subscribe to, what is emitted,
and how a subscription matches an event (by string prefix).
"""

from __future__ import annotations

from collections.abc import Iterable

USER_CREATE = "user.create"
USER_DELETE = "user.delete"
USER_LOGIN = "user.login"
USER_UPDATE = "user.update"
USER_EMAIL_CREATE = "user.update.email.create"
USER_EMAIL_DELETE = "user.update.email.delete"
USER_EMAIL_PRIMARY = "user.update.email.primary"
USER_PASSWORD_UPDATE = "user.update.password.update"  # noqa: S105 (an event name)
USER_USERNAME_CREATE = "user.update.username.create"
USER_USERNAME_UPDATE = "user.update.username.update"
USER_USERNAME_DELETE = "user.update.username.delete"
EMAIL_SEND = "email.send"
SESSION_CREATE_FLOW = "session.create.flow"
SESSION_CREATE_ADMIN = "session.create.admin"
SESSION_DELETE_LOGOUT = "session.delete.explicit.logout"
SESSION_DELETE_REVOKE = "session.delete.explicit.revoke"
SESSION_DELETE_ADMIN_REVOKE = "session.delete.admin.revoke"
SESSION_DELETE_EXPIRE = "session.delete.passive.expire"
SESSION_DELETE_LIMIT = "session.delete.passive.limit"

# The leaf events hankoflow emits (19, §5.2 table).
EMITTED = frozenset(
    {
        USER_CREATE,
        USER_DELETE,
        USER_LOGIN,
        USER_UPDATE,
        USER_EMAIL_CREATE,
        USER_EMAIL_DELETE,
        USER_EMAIL_PRIMARY,
        USER_PASSWORD_UPDATE,
        USER_USERNAME_CREATE,
        USER_USERNAME_UPDATE,
        USER_USERNAME_DELETE,
        EMAIL_SEND,
        SESSION_CREATE_FLOW,
        SESSION_CREATE_ADMIN,
        SESSION_DELETE_LOGOUT,
        SESSION_DELETE_REVOKE,
        SESSION_DELETE_ADMIN_REVOKE,
        SESSION_DELETE_EXPIRE,
        SESSION_DELETE_LIMIT,
    }
)

# The values a hook may subscribe to (28, in Hanko's order).
SUBSCRIPTIONS: tuple[str, ...] = (
    "user",
    USER_CREATE,
    USER_DELETE,
    USER_LOGIN,
    USER_UPDATE,
    "user.update.email",
    USER_EMAIL_CREATE,
    USER_EMAIL_DELETE,
    USER_EMAIL_PRIMARY,
    USER_PASSWORD_UPDATE,
    "user.update.username",
    USER_USERNAME_CREATE,
    USER_USERNAME_DELETE,
    USER_USERNAME_UPDATE,
    EMAIL_SEND,
    "session",
    "session.create",
    SESSION_CREATE_FLOW,
    SESSION_CREATE_ADMIN,
    "session.delete",
    "session.delete.explicit",
    SESSION_DELETE_LOGOUT,
    SESSION_DELETE_REVOKE,
    "session.delete.admin",
    SESSION_DELETE_ADMIN_REVOKE,
    "session.delete.passive",
    SESSION_DELETE_EXPIRE,
    SESSION_DELETE_LIMIT,
)


def is_subscription(value: object) -> bool:
    """Whether ``value`` is one of the 28 subscription values."""
    return isinstance(value, str) and value in SUBSCRIPTIONS


def matches(subscriptions: Iterable[str], event: str) -> bool:
    """Whether a hook subscribed to ``subscriptions`` receives ``event``: one of them is a prefix
    of the event name (``user`` receives ``user.login``). Hanko compares raw prefixes, so
    ``user.update.email`` also matches ``user.update.emailx``; no emitted event tells the two
    rules apart, and we keep Hanko's."""
    return bool(event) and any(event.startswith(s) for s in subscriptions if s)
