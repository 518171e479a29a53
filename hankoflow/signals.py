"""Signals hankoflow sends, so that a host project can react without forking (style.md §2.5).

Django's own ``user_logged_in`` and ``user_logged_out`` keep firing where Django sends them; the
signals here cover what Django has no word for. Conventions, for every signal in this module:

- Receivers get keyword arguments only: ``sender`` and the arguments listed with the signal.
  Accept ``**kwargs`` too, so that a later release can add arguments without breaking you.
- A signal is sent inside the database transaction that made the change, once the change is
  made. Whatever a receiver writes to the database commits or rolls back with it; work outside
  the database (an email, an HTTP call) belongs in ``transaction.on_commit``.
- ``request`` is the ``HttpRequest`` behind the change, or None (management commands, tasks).

Example::

    from django.dispatch import receiver
    from hankoflow import signals

    @receiver(signals.session_revoked)
    def forget_session(sender, session, account, reason, **kwargs):
        if reason == signals.REASON_CREDENTIAL_RESET:
            my_cache.delete(f"session:{session.pk}")
"""

from __future__ import annotations

from django.dispatch import Signal

# --- sessions -----------------------------------------------------------------------------------

session_revoked = Signal()
"""A session ended before its expiry: its row is deleted and its token stops validating at once.

Sent once per session, by ``hankoflow.services.sessions``. ``sender`` is the ``Session`` model
class. Arguments: ``session`` (the deleted ``Session`` row; ``session.pk`` is the token's
``session_id``), ``account`` (its ``Account``; ``account.user`` is the Django user), ``reason``
(one of the ``REASON_*`` values below) and ``request``.
"""

REASON_LOGOUT = "logout"
"""``POST /logout`` (and the demo's logout form) ended the request's own session."""

REASON_CREDENTIAL_RESET = "credential_reset"
"""A credential was reset (password recovery): every other session of the user ends
(security-checks SE-07)."""

REASON_REVOKED = "revoked"
"""Revoked by code calling ``sessions.revoke_all`` without a more specific reason."""

REASON_LIMIT = "limit"
"""Evicted by ``SESSION.LIMIT`` when the user signed in once more (the oldest go first)."""

REASON_IDLE_TIMEOUT = "idle_timeout"
"""Unused for longer than ``SESSION.IDLE_TIMEOUT``; noticed when its token was next presented."""

SESSION_REVOKED_REASONS = frozenset(
    {REASON_LOGOUT, REASON_CREDENTIAL_RESET, REASON_REVOKED, REASON_LIMIT, REASON_IDLE_TIMEOUT}
)
