"""Sessions, outbox emails, signing keys, WebAuthn credentials and TOTP pages."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.dispatch import receiver

from hankoflow import signals
from hankoflow.models import (
    AuditLogEntry,
    OTPSecret,
    OutboxEmail,
    Session,
    SigningKey,
    WebauthnCredential,
)
from hankoflow.services import audit, jwks
from hankoflow.services import mail as mail_service

pytestmark = pytest.mark.django_db

ADMIN = "/admin/hankoflow"


def post_action(client, model: str, action: str, pks, **extra):
    return client.post(
        f"{ADMIN}/{model}/",
        {"action": action, ACTION_CHECKBOX_NAME: [str(pk) for pk in pks], **extra},
        follow=True,
    )


def staff_entry(superuser, action: str) -> AuditLogEntry:
    [entry] = [
        e
        for e in AuditLogEntry.objects.all()
        if (e.details or {}).get("admin_action") == action
        and (e.details or {}).get("staff_user") == superuser.pk
    ]
    return entry


# --- sessions -------------------------------------------------------------------------------


def test_sessions_list_and_revoke(admin_client, superuser, full_account):
    page = admin_client.get(f"{ADMIN}/session/", {"account__id__exact": str(full_account.pk)})
    assert page.status_code == 200
    assert len(page.context["cl"].result_list) == 2
    assert "carol" in page.content.decode()  # the user column links to the user
    session = Session.objects.filter(account=full_account).first()
    revoked = []

    @receiver(signals.session_revoked)
    def on_revoked(sender, session, reason, **kwargs):
        revoked.append((session.pk, reason))

    try:
        post_action(admin_client, "session", "revoke_sessions", [session.pk])
    finally:
        signals.session_revoked.disconnect(on_revoked)
    assert revoked == [(session.pk, signals.REASON_REVOKED)]
    assert Session.objects.filter(account=full_account).count() == 1
    entry = staff_entry(superuser, "revoke_session")
    assert entry.type == audit.USER_LOGGED_OUT and entry.details["session_ids"] == [str(session.pk)]


def test_session_delete_button_goes_through_the_service(admin_client, superuser, full_account):
    session = Session.objects.filter(account=full_account).first()
    admin_client.post(f"{ADMIN}/session/{session.pk}/delete/", {"post": "yes"})
    assert not Session.objects.filter(pk=session.pk).exists()
    assert staff_entry(superuser, "revoke_session").actor_user_id == full_account.pk


def test_sessions_cannot_be_added_or_edited(admin_client, full_account):
    session = Session.objects.filter(account=full_account).first()
    assert admin_client.get(f"{ADMIN}/session/add/").status_code == 403
    page = admin_client.get(f"{ADMIN}/session/{session.pk}/change/")
    assert b'name="_save"' not in page.content


# --- outbox -----------------------------------------------------------------------------------


def make_email(kind: str, status: str, **fields) -> OutboxEmail:
    secret = {"code": "123456"} if kind in mail_service.CODE_KINDS else None
    row = mail_service.queue(kind, to="dan@example.com", language="en", context={}, secret=secret)
    OutboxEmail.objects.filter(pk=row.pk).update(status=status, **fields)
    row.refresh_from_db()
    return row


def test_outbox_shows_status_and_error_never_the_secret(admin_client, db):
    row = make_email("login", "pending")
    failed = make_email("email_registration_attempted", "failed", last_error="SMTP 550 refused")
    listing = admin_client.get(f"{ADMIN}/outboxemail/", {"status__exact": "failed"})
    assert list(listing.context["cl"].result_list) == [failed]
    assert "SMTP 550 refused" in listing.content.decode()
    page = admin_client.get(f"{ADMIN}/outboxemail/{row.pk}/change/").content.decode()
    assert row.secret and row.secret not in page
    assert "123456" not in page


def test_resend_requeues_a_failed_notice(admin_client, db, django_capture_on_commit_callbacks):
    failed = make_email("email_registration_attempted", "failed", attempts=6, last_error="boom")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        post_action(admin_client, "outboxemail", "resend", [failed.pk])
    failed.refresh_from_db()
    assert failed.status == "sent" and failed.last_error == ""
    assert [m.to for m in mail.outbox] == [["dan@example.com"]]


def test_resend_refuses_a_code_email_whose_code_is_gone(admin_client, db):
    sent = make_email("login", "sent", secret=None)
    response = post_action(admin_client, "outboxemail", "resend", [sent.pk])
    assert "ask for a new code" in response.content.decode()
    sent.refresh_from_db()
    assert sent.status == "sent"


# --- signing keys ----------------------------------------------------------------------------


def test_keys_list_without_private_material(admin_client, db):
    key = jwks.signing_key_row()
    page = admin_client.get(f"{ADMIN}/signingkey/").content.decode()
    assert key.kid in page and "signing" in page
    assert key.private_key_encrypted not in page
    assert key.public_jwk["n"] not in page


def test_rotate_and_retire_as_the_command_does(admin_client, db):
    first = jwks.signing_key_row()
    post_action(admin_client, "signingkey", "rotate", [first.pk])
    assert SigningKey.objects.filter(retired_at__isnull=True).count() == 2
    second = jwks.signing_key_row()
    assert second.pk != first.pk
    post_action(admin_client, "signingkey", "retire", [first.pk])
    first.refresh_from_db()
    assert first.retired_at is not None


def test_retire_refuses_the_only_active_key(admin_client, db):
    only = jwks.signing_key_row()
    response = post_action(admin_client, "signingkey", "retire", [only.pk])
    assert "is the only signing key" in response.content.decode()
    only.refresh_from_db()
    assert only.retired_at is None


# --- credentials and TOTP --------------------------------------------------------------------


def test_credential_page_shows_a_fingerprint_not_the_key(admin_client, full_account):
    credential = WebauthnCredential.objects.filter(account=full_account, mfa_only=False).get()
    page = admin_client.get(f"{ADMIN}/webauthncredential/{credential.pk}/change/").content.decode()
    assert credential.public_key not in page
    assert "Public key" in page
    assert b'name="_save"' not in page.encode()


def test_remove_one_credential(admin_client, superuser, full_account):
    credential = WebauthnCredential.objects.filter(account=full_account, mfa_only=False).get()
    removed = []

    @receiver(signals.credential_removed)
    def on_removed(sender, kind, credential_id, **kwargs):
        removed.append((kind, credential_id))

    try:
        admin_client.post(f"{ADMIN}/webauthncredential/{credential.pk}/delete/", {"post": "yes"})
    finally:
        signals.credential_removed.disconnect(on_removed)
    assert removed == [("passkey", credential.pk)]
    assert not WebauthnCredential.objects.filter(pk=credential.pk).exists()
    entry = staff_entry(superuser, "remove_credential")
    assert entry.type == audit.PASSKEY_DELETED and entry.details["credential_id"] == credential.pk


def test_totp_page_never_shows_the_secret_and_deletes_through_the_service(
    admin_client, superuser, full_account
):
    secret = OTPSecret.objects.get(account=full_account)
    page = admin_client.get(f"{ADMIN}/otpsecret/{secret.pk}/change/").content.decode()
    assert secret.secret_encrypted not in page
    admin_client.post(f"{ADMIN}/otpsecret/{secret.pk}/delete/", {"post": "yes"})
    assert not OTPSecret.objects.filter(pk=secret.pk).exists()
    assert staff_entry(superuser, "remove_second_factor").details["kind"] == "totp"


@pytest.mark.parametrize(
    "url",
    ["session", "webauthncredential", "otpsecret", "outboxemail", "auditlogentry"],
)
@pytest.mark.parametrize("term", ["carol@example.com", "not a uuid", "%_'\""])
def test_search_never_fails(admin_client, full_account, url, term):
    assert admin_client.get(f"{ADMIN}/{url}/", {"q": term}).status_code == 200


def test_sessions_search_by_email(admin_client, full_account, other_account):
    found = admin_client.get(f"{ADMIN}/session/", {"q": "carol@example.com"}).context["cl"]
    assert {s.account_id for s in found.result_list} == {full_account.pk}


def test_pages_with_actions_have_no_save_button(admin_client, db):
    row = make_email("email_registration_attempted", "failed", last_error="boom")
    key = jwks.signing_key_row()
    for url in [f"{ADMIN}/outboxemail/{row.pk}/change/", f"{ADMIN}/signingkey/{key.pk}/change/"]:
        page = admin_client.get(url)
        assert page.status_code == 200
        assert b'name="_save"' not in page.content and b'name="_continue"' not in page.content
    admin_client.post(f"{ADMIN}/outboxemail/{row.pk}/change/", {"status": "pending", "to": "x@y.z"})
    row.refresh_from_db()
    assert (row.status, row.to) == ("failed", "dan@example.com")


def test_retire_refuses_a_key_live_sessions_still_need(
    admin_client, account_factory, signed_in_client
):
    first = jwks.signing_key_row()
    signed_in_client(account_factory())  # a live session whose token the first key signed
    post_action(admin_client, "signingkey", "rotate", [first.pk])
    response = post_action(admin_client, "signingkey", "retire", [first.pk])
    assert "live session" in response.content.decode()
    first.refresh_from_db()
    assert first.retired_at is None
