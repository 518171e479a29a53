"""hankoflow.services.invitations: single-use codes stored as digests, the email, revocation,
verify-and-consume under a row lock, audit entries (issue 15)."""

from __future__ import annotations

import re

import pytest
from django.test import TestCase

from hankoflow.models import Account, AuditLogEntry, Invitation, OutboxEmail
from hankoflow.services import invitations
from tests.concurrency import run_concurrently

EMAIL = "invitee@example.com"
STAFF = {"staff_user": "admin"}
CODE = re.compile(r"\b([A-Z2-9]{4}(?:-[A-Z2-9]{4}){3})\b")


def invitation_code(mailoutbox, to: str) -> str:
    """The code in the newest invitation email to ``to``."""
    message = next(m for m in reversed(mailoutbox) if to in m.to)
    return CODE.search(message.body).group(1)


def invite(email: str = EMAIL, **kwargs) -> invitations.CreatedInvitation:
    with TestCase.captureOnCommitCallbacks(execute=True):  # the outbox sends after the commit
        return invitations.create(email, invited_by="admin", actor=STAFF, **kwargs)


def make_account(account_factory, email: str = EMAIL):
    return lambda: account_factory(email)


@pytest.mark.django_db
def test_create_stores_only_the_digest_and_emails_the_code(mailoutbox):
    created = invite(" Invitee@Example.com ")
    invitation = created.invitation

    assert invitation.email == EMAIL
    assert invitation.code_hash == invitations.digest(created.code)
    assert created.code not in invitation.code_hash
    assert CODE.fullmatch(created.code)
    assert invitation_code(mailoutbox, EMAIL) == created.code
    [message] = mailoutbox
    assert created.code in message.subject
    assert "7 days" in message.body
    row = OutboxEmail.objects.get(kind="invitation")
    assert row.secret is None  # wiped once sent
    assert created.code not in str(row.context)
    entry = AuditLogEntry.objects.get(type="invitation_created")
    assert entry.details["invitation_id"] == str(invitation.pk)
    assert entry.details["staff_user"] == "admin"
    assert created.code not in str(entry.details)


@pytest.mark.django_db
def test_the_email_is_in_the_invitations_language_with_the_link(mailoutbox, settings):
    settings.HANKOFLOW = {
        "INVITATIONS": {"URL": "https://app.example/invite?code={code}&email={email}", "TTL": 7200}
    }
    created = invite(language="de")
    [message] = mailoutbox
    assert "eingeladen" in message.body
    assert "Diese Einladung läuft in 2 Stunden ab." in message.body
    assert created.link == (
        f"https://app.example/invite?code={created.code}&email=invitee%40example.com"
    )
    assert created.link in message.body
    english = invite("other@example.com")
    assert "You have been invited" in mailoutbox[-1].body and english.link in mailoutbox[-1].body


@pytest.mark.django_db
def test_check_accepts_the_code_however_it_is_typed():
    created = invite()
    typed = created.code.replace("-", " ").lower()
    assert invitations.check(EMAIL.upper(), typed) == created.invitation


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("email", "code"),
    [(EMAIL, "AAAA-BBBB-CCCC-DDDD"), ("someone@example.com", None), (EMAIL, "")],
)
def test_a_wrong_code_or_address_is_invalid(email, code):
    created = invite()
    with pytest.raises(invitations.InvitationUnusable) as refused:
        invitations.check(email, created.code if code is None else code)
    assert refused.value.reason == invitations.INVALID
    assert refused.value.flow_error is None


@pytest.mark.django_db
def test_accept_consumes_it_once(account_factory):
    created = invite()
    accepted = invitations.accept(
        str(created.invitation.pk), EMAIL, create_account=make_account(account_factory)
    )
    assert accepted.accepted_at is not None and accepted.account.emails.get().address == EMAIL
    assert invitations.status(accepted) == invitations.USED
    with pytest.raises(invitations.InvitationUnusable) as refused:
        invitations.check(EMAIL, created.code)
    assert refused.value.reason == invitations.USED
    assert refused.value.flow_error.code == "invitation_used"
    with pytest.raises(invitations.InvitationUnusable):
        invitations.accept(
            str(created.invitation.pk), EMAIL, create_account=make_account(account_factory)
        )
    entry = AuditLogEntry.objects.get(type="invitation_accepted")
    assert entry.actor_user_id == accepted.account.pk


@pytest.mark.django_db
def test_a_failing_account_creation_leaves_the_invitation_pending():
    created = invite()

    def refuse():
        raise RuntimeError("taken meanwhile")

    with pytest.raises(RuntimeError):
        invitations.accept(str(created.invitation.pk), EMAIL, create_account=refuse)
    created.invitation.refresh_from_db()
    assert invitations.status(created.invitation) == invitations.PENDING
    assert not AuditLogEntry.objects.filter(type="invitation_accepted").exists()


@pytest.mark.django_db
def test_revoke(account_factory):
    created = invite()
    assert invitations.revoke(created.invitation, actor=STAFF) is True
    assert invitations.revoke(created.invitation, actor=STAFF) is False
    with pytest.raises(invitations.InvitationUnusable) as refused:
        invitations.check(EMAIL, created.code)
    assert refused.value.flow_error.code == "invitation_revoked"
    entry = AuditLogEntry.objects.get(type="invitation_revoked")
    assert entry.details["staff_user"] == "admin"


@pytest.mark.django_db
def test_expired(clock, settings):
    settings.HANKOFLOW = {"INVITATIONS": {"TTL": 3600}}
    created = invite()
    clock.advance(minutes=59)
    invitations.check(EMAIL, created.code)
    clock.advance(minutes=1)
    with pytest.raises(invitations.InvitationUnusable) as refused:
        invitations.check(EMAIL, created.code)
    assert refused.value.flow_error.code == "invitation_expired"


@pytest.mark.django_db
def test_inviting_again_replaces_the_pending_invitation():
    first = invite()
    second = invite()
    first.invitation.refresh_from_db()
    assert invitations.status(first.invitation) == invitations.REVOKED
    assert invitations.check(EMAIL, second.code) == second.invitation
    revoked = AuditLogEntry.objects.get(type="invitation_revoked")
    assert revoked.details["reason"] == "replaced"


@pytest.mark.django_db
def test_no_invitation_for_a_registered_address_or_a_malformed_one(account_factory):
    account_factory(EMAIL)
    with pytest.raises(invitations.EmailAlreadyRegistered):
        invite()
    with pytest.raises(ValueError):
        invite("not-an-address")
    assert not Invitation.objects.exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_acceptances_of_one_invitation_make_one_account(postgres_only):
    import uuid

    from hankoflow.services import accounts

    created = invite()
    pk = str(created.invitation.pk)

    def new_account():
        return accounts.create(
            uuid.uuid4(), email=EMAIL, email_verified=True, username=None, password_hash=None
        )

    def attempt():
        return invitations.accept(pk, EMAIL, create_account=new_account)

    results = run_concurrently([attempt, attempt], returning=(invitations.InvitationUnusable,))
    refused = [r for r in results if isinstance(r, invitations.InvitationUnusable)]
    assert len(refused) == 1 and refused[0].reason == invitations.USED
    assert Account.objects.count() == 1
    assert AuditLogEntry.objects.filter(type="invitation_accepted").count() == 1
