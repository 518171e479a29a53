"""Invitations: staff invite a person by email; the invited registration redeems the code
(issue 15).

``create`` makes a single-use code, stores only its SHA-256 digest (``Invitation.code_hash``) and
queues the ``invitation`` email through the outbox, where the code waits encrypted until it is
sent. Inviting an address again revokes its pending invitations: their codes were never stored,
so a new email needs a new code. ``check`` tells the ``invited_registration`` flow whether a code
and address match a usable invitation; ``accept`` verifies again and consumes it under a row
lock, in the same transaction that creates the account, so one code makes one account. The
Django admin, the admin API and ``manage.py hankoflow_invite`` all call these functions; each
change is audited (``invitation_created``, ``invitation_revoked``, ``invitation_accepted``).

A code is 16 characters of a 30-symbol alphabet without look-alikes (about 78 random bits),
shown in groups of four; a random secret of that size needs no slow hash.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from django.db import transaction

from hankoflow import clock, emails, errors
from hankoflow.conf import settings
from hankoflow.engine import RequestFacts
from hankoflow.engine.inputs import EMAIL_PATTERN
from hankoflow.models import Account, Invitation
from hankoflow.services import audit, mail
from hankoflow.services.accounts import email_exists, normalise_email

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U
CODE_LENGTH = 16
GROUP = 4

# Why an invitation cannot be used (``InvitationUnusable.reason``).
INVALID = "invalid"  # no invitation has this code and address
EXPIRED = "expired"
USED = "used"
REVOKED = "revoked"
PENDING = "pending"  # ``status()`` of a usable one


class InvitationUnusable(Exception):  # noqa: N818 - reads as what the invitation is
    """The code and address name no usable invitation; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def flow_error(self) -> errors.FlowError | None:
        """The flow's answer to a right code that can no longer be used; None for ``invalid``
        (a wrong code is an input error)."""
        return _FLOW_ERRORS.get(self.reason)


_FLOW_ERRORS = {
    EXPIRED: errors.INVITATION_EXPIRED,
    USED: errors.INVITATION_USED,
    REVOKED: errors.INVITATION_REVOKED,
}


class EmailAlreadyRegistered(ValueError):
    """An account already uses the address: there is nobody to invite."""


@dataclass(frozen=True)
class CreatedInvitation:
    invitation: Invitation
    code: str  # the only copy; never stored
    link: str  # "" unless INVITATIONS.URL is set


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + GROUP] for i in range(0, CODE_LENGTH, GROUP))


def digest(code: str) -> str:
    """The stored form of a code, whatever the case, spaces or dashes it was typed with."""
    canonical = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def status(invitation: Invitation) -> str:
    """``pending``, ``used``, ``revoked`` or ``expired``."""
    if invitation.accepted_at is not None:
        return USED
    if invitation.revoked_at is not None:
        return REVOKED
    if clock.now() >= invitation.expires_at:
        return EXPIRED
    return PENDING


def create(
    email: str,
    *,
    invited_by: str,
    language: str = "",
    actor: dict[str, Any] | None = None,
    env: RequestFacts | None = None,
) -> CreatedInvitation:
    """Invite ``email``: store the invitation, queue its email, audit it (one transaction).

    ``invited_by`` names the staff member or API key (shown in the admin); ``actor`` is the audit
    details of who acted; ``language`` the email's (an ``X-Language`` value or a language code).
    Raises ``ValueError`` for a malformed address, ``EmailAlreadyRegistered`` when an account
    has it.
    """
    address = normalise_email(email)
    if not EMAIL_PATTERN.fullmatch(address) or len(address) > settings.EMAIL.MAX_LENGTH:
        raise ValueError(f"not an email address: {email!r}")
    if email_exists(address):
        raise EmailAlreadyRegistered(address)
    code = new_code()
    ttl = settings.INVITATIONS.TTL
    with transaction.atomic():
        replaced = Invitation.objects.select_for_update().filter(
            email=address, accepted_at__isnull=True, revoked_at__isnull=True
        )
        for old in replaced:
            _revoke(old, actor={**(actor or {}), "reason": "replaced"}, env=env)
        invitation = Invitation.objects.create(
            email=address,
            code_hash=digest(code),
            language=mail.language_for(language) if language else "",
            invited_by=invited_by[:255],
            expires_at=clock.now() + timedelta(seconds=ttl),
        )
        link = _link(code, address)
        mail.queue(
            emails.INVITATION,
            to=address,
            language=invitation.language,
            context=_lifetime(ttl),
            secret={"code": code, "link": link} if link else {"code": code},
            dedupe_key=f"invitation:{invitation.pk}",
        )
        audit.record(
            audit.INVITATION_CREATED,
            env=env,
            details={
                **_details(invitation),
                "expires_at": invitation.expires_at.isoformat(),
                **(actor or {}),
            },
        )
    return CreatedInvitation(invitation=invitation, code=code, link=link)


def revoke(
    invitation: Invitation, *, actor: dict[str, Any] | None = None, env: RequestFacts | None = None
) -> bool:
    """Revoke a pending invitation; False when it was already used or revoked (nothing changes).
    An expired one can be revoked, so that the record says staff withdrew it."""
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().filter(pk=invitation.pk).first()
        if locked is None or locked.accepted_at is not None or locked.revoked_at is not None:
            return False
        _revoke(locked, actor=actor or {}, env=env)
    invitation.revoked_at = locked.revoked_at
    return True


def _revoke(invitation: Invitation, *, actor: dict[str, Any], env: RequestFacts | None) -> None:
    invitation.revoked_at = clock.now()
    invitation.save(update_fields=["revoked_at"])
    audit.record(audit.INVITATION_REVOKED, env=env, details={**_details(invitation), **actor})


def check(email: str, code: str) -> Invitation:
    """The usable invitation of ``code`` for ``email``; ``InvitationUnusable`` otherwise.

    A wrong code and a right code with another address both answer ``invalid``, so a code alone
    reveals nothing of the invitation. Nothing changes: ``accept`` consumes it.
    """
    invitation = Invitation.objects.filter(code_hash=digest(code)).first()
    if invitation is None or invitation.email != normalise_email(email):
        raise InvitationUnusable(INVALID)
    reason = status(invitation)
    if reason != PENDING:
        raise InvitationUnusable(reason)
    return invitation


def accept(
    invitation_id: str,
    email: str,
    *,
    create_account: Callable[[], Account],
    env: RequestFacts | None = None,
    details: dict[str, Any] | None = None,
) -> Invitation:
    """Verify and consume the invitation under a row lock, creating its account meanwhile.

    ``create_account`` runs inside the same transaction, after the invitation is found usable:
    when it raises, nothing of the account and nothing of the acceptance remains. Of two
    concurrent calls for one invitation, the second waits for the lock and then finds it used.
    """
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().filter(pk=invitation_id).first()
        if invitation is None or invitation.email != normalise_email(email):
            raise InvitationUnusable(INVALID)
        reason = status(invitation)
        if reason != PENDING:
            raise InvitationUnusable(reason)
        account = create_account()
        invitation.accepted_at = clock.now()
        invitation.account = account
        invitation.save(update_fields=["accepted_at", "account"])
        audit.record(
            audit.INVITATION_ACCEPTED,
            env=env,
            account=account,
            details={**_details(invitation), **(details or {})},
        )
    return invitation


def _details(invitation: Invitation) -> dict[str, Any]:
    return {"invitation_id": str(invitation.pk), "email": invitation.email}


def _link(code: str, email: str) -> str:
    template = settings.INVITATIONS.URL
    if not template:
        return ""
    return template.replace("{code}", quote(code, safe="")).replace(
        "{email}", quote(email, safe="")
    )


def _lifetime(ttl: int) -> dict[str, int]:
    """The email's lifetime wording: whole days, else whole hours, else minutes."""
    if ttl % 86400 == 0:
        return {"ttl_days": ttl // 86400, "ttl_minutes": ttl // 60}
    if ttl % 3600 == 0:
        return {"ttl_hours": ttl // 3600, "ttl_minutes": ttl // 60}
    return {"ttl_minutes": max(1, ttl // 60)}
