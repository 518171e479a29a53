"""Security notifications (platform.md §7.1, §7.4): an email telling a person that their account
changed, sent to the primary address (a primary-address change: to the previous one) through
the outbox, in the request's language, when its kind is switched on in
``SECURITY_NOTIFICATIONS.NOTIFICATIONS``; each one sent is audited.

Issue 12 in progress: the templates and sending land with the notifications work.
"""

from __future__ import annotations

from typing import Any

from hankoflow.engine import RequestFacts
from hankoflow.models import Account


def notify(
    account: Account,
    kind: str,
    *,
    env: RequestFacts | None,
    to: str | None = None,
    context: dict[str, Any] | None = None,
) -> None:
    """Queue the ``kind`` notification (``hankoflow.emails``: PASSWORD_UPDATE, ...) for
    ``account``: to ``to``, else to its primary address; nothing when it has none or the kind
    is switched off. ``context``: the template's values (``old_email``/``new_email``,
    ``new_email``, ``deleted_email``). Runs inside the caller's transaction."""
