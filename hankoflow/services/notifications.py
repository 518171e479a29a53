"""Security notifications (platform.md §7.1, §7.4): an email telling a person that their account
changed, sent to the primary address (a primary-address change: to the previous one) through
the outbox, in the request's language, when its kind is switched on in
``SECURITY_NOTIFICATIONS.NOTIFICATIONS``; each one queued is audited.

The email is written to the outbox in the caller's transaction and sent after it commits, so a
change that rolls back sends nothing (security-checks AU-04). A notification that cannot be
queued is logged and dropped: it never undoes or fails the change it reports (as Hanko, which
ignores notification failures).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import router, transaction

from hankoflow import emails
from hankoflow.conf import settings
from hankoflow.engine import RequestFacts
from hankoflow.models import Account, OutboxEmail
from hankoflow.services import audit, mail

logger = logging.getLogger(__name__)


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
    ``new_email``, ``deleted_email``). Runs inside the caller's transaction; never raises
    except for a kind that is not a security notification (a programming error)."""
    if kind not in emails.SECURITY_NOTIFICATION_KINDS:
        raise ValueError(f"{kind!r} is not a security notification")
    if not enabled(kind):
        return
    try:
        # A savepoint: a failed insert must not leave the caller's transaction unusable, and
        # the row, its audit entry and its send after the commit go together or not at all.
        with transaction.atomic(using=router.db_for_write(OutboxEmail)):
            address = to or _primary_address(account)
            if not address:
                return
            mail.queue(
                kind,
                to=address,
                language=env.language if env is not None else "",
                context=dict(context or {}),
            )
            audit.record(
                audit.SECURITY_NOTIFICATION_SENT,
                env=env,
                account=account,
                details={
                    "template": kind,
                    # Hanko: stores the address in the clear; we mask it like every other
                    # address in the audit log.
                    "email_address": audit.mask_email(address) if audit.MASK else address,
                    "delivered_by_hanko": str(settings.EMAIL_DELIVERY.ENABLED).lower(),
                },
            )
    except Exception:
        logger.exception(
            "Could not queue the %s security notification for account %s; the change stands.",
            kind,
            account.pk,
        )


def enabled(kind: str) -> bool:
    """Whether ``SECURITY_NOTIFICATIONS.NOTIFICATIONS.<KIND>.ENABLED`` is on.

    Hanko: gates ``primary_email_update`` by ``email_create``'s switch (platform.md §12.6);
    here every kind has its own, so switching one off never silences or sends another.
    """
    return bool(settings.SECURITY_NOTIFICATIONS.NOTIFICATIONS[kind.upper()].ENABLED)


def _primary_address(account: Account) -> str | None:
    # Read afresh, not from what the account prefetched: the caller has just changed its emails.
    return account.emails.filter(is_primary=True).values_list("address", flat=True).first()
