"""Security notifications (platform.md §7.1, §7.4; security-checks AU-04): queued through the
outbox to the right address in the request's language, sent after the commit, audited, switched
off per kind, and never failing the change they report."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction
from django.test import RequestFactory, override_settings

from hankoflow import emails
from hankoflow.http.request import RequestEnv
from hankoflow.models import AuditLogEntry, OutboxEmail
from hankoflow.services import accounts, audit, mail, notifications

KINDS = sorted(emails.SECURITY_NOTIFICATION_KINDS)
PRIMARY = "jane@example.com"
CONTEXT = {"old_email": PRIMARY, "new_email": "jane.new@example.com", "deleted_email": "x@x.io"}

# German subjects, as the catalogue has them.
GERMAN_SUBJECTS = {
    emails.PASSWORD_UPDATE: "Ihr Passwort wurde aktualisiert",
    emails.PRIMARY_EMAIL_UPDATE: "Ihre primäre E-Mail-Adresse wurde aktualisiert",
    emails.EMAIL_CREATE: "Eine neue E-Mail-Adresse wurde hinzugefügt",
    emails.EMAIL_DELETE: "Eine E-Mail-Adresse wurde entfernt",
    emails.PASSKEY_CREATE: "Ein neuer Passkey wurde hinzugefügt",
    emails.MFA_CREATE: "Eine neue MFA-Methode wurde hinzugefügt",
    emails.MFA_DELETE: "MFA-Methode entfernt",
}


def env(language: str = "de") -> RequestEnv:
    request = RequestFactory().post("/profile")
    return RequestEnv(request=request, language=language, ip="203.0.113.9", user_agent="UA/1")


def switched_off(*kinds: str):
    off = {kind.upper(): {"ENABLED": False} for kind in kinds}
    return override_settings(HANKOFLOW={"SECURITY_NOTIFICATIONS": {"NOTIFICATIONS": off}})


@pytest.fixture
def jane(account_factory):
    account = account_factory(PRIMARY)
    accounts.add_email(account, "jane.second@example.com", verified=True)
    return account


# -- queued, sent after the commit, to the right address, in the right language ----------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_goes_to_the_primary_address_after_the_commit(jane, kind, mailoutbox):
    with transaction.atomic():
        notifications.notify(jane, kind, env=env("de-DE"), context=CONTEXT)
        assert OutboxEmail.objects.filter(kind=kind, to=PRIMARY).exists()
        assert mailoutbox == []  # not before the change commits

    (message,) = mailoutbox
    assert message.to == [PRIMARY]
    assert message.subject == GERMAN_SUBJECTS[kind]
    assert message.extra_headers["Content-Language"] == "de"
    ((html, _),) = message.alternatives
    assert "Hanko Authentication Service" in message.body and "Hanko Authentication" in html
    assert OutboxEmail.objects.get(kind=kind).status == OutboxEmail.Status.SENT


@pytest.mark.django_db(transaction=True)
def test_primary_email_update_goes_to_the_old_primary_and_names_both(jane, mailoutbox):
    # The caller has already moved the primary marker: the default address is the new one.
    jane.emails.update(is_primary=False)
    jane.emails.filter(address="jane.second@example.com").update(is_primary=True)

    with transaction.atomic():
        notifications.notify(
            jane,
            emails.PRIMARY_EMAIL_UPDATE,
            env=env("en"),
            to=PRIMARY,
            context={"old_email": PRIMARY, "new_email": "jane.second@example.com"},
        )

    (message,) = mailoutbox
    assert message.to == [PRIMARY]
    assert message.subject == "Your primary email address has been updated"
    assert (
        "The primary email address for your Hanko Authentication Service account has been "
        "updated from jane@example.com to jane.second@example.com." in message.body
    )


@pytest.mark.django_db
def test_the_primary_address_is_read_afresh_not_from_the_prefetched_account(jane):
    loaded = accounts.get(jane.pk)  # prefetches the emails
    jane.emails.update(is_primary=False)
    jane.emails.filter(address="jane.second@example.com").update(is_primary=True)

    notifications.notify(loaded, emails.EMAIL_DELETE, env=env(), context=CONTEXT)

    assert OutboxEmail.objects.get().to == "jane.second@example.com"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("x_language", "stored"),
    [("pt-BR", "pt-br"), ("zh-CN", "zh-hans"), ("", "en"), ("es", "en"), (None, "en")],
)
def test_the_email_is_in_the_requests_language(jane, x_language, stored):
    facts = None if x_language is None else env(x_language)

    notifications.notify(jane, emails.PASSKEY_CREATE, env=facts)

    assert OutboxEmail.objects.get().language == stored


@pytest.mark.django_db
def test_context_is_stored_for_the_template(jane):
    notifications.notify(
        jane, emails.EMAIL_CREATE, env=env(), context={"new_email": "jane.second@example.com"}
    )

    row = OutboxEmail.objects.get()
    assert row.context["new_email"] == "jane.second@example.com"
    assert row.context["service_name"] == "Hanko Authentication Service"
    assert row.secret is None


# -- when nothing is sent ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", KINDS)
def test_a_kind_switched_off_sends_nothing_and_audits_nothing(jane, kind, mailoutbox):
    with switched_off(kind), transaction.atomic():
        notifications.notify(jane, kind, env=env(), context=CONTEXT)

    assert not OutboxEmail.objects.exists()
    assert not AuditLogEntry.objects.filter(type=audit.SECURITY_NOTIFICATION_SENT).exists()
    assert mailoutbox == []


@pytest.mark.django_db
def test_each_kind_has_its_own_switch(jane):
    """Hanko gates primary_email_update by email_create's switch; we do not."""
    with switched_off(emails.EMAIL_CREATE):
        notifications.notify(jane, emails.PRIMARY_EMAIL_UPDATE, env=env(), context=CONTEXT)
        notifications.notify(jane, emails.EMAIL_CREATE, env=env(), context=CONTEXT)

    assert list(OutboxEmail.objects.values_list("kind", flat=True)) == [emails.PRIMARY_EMAIL_UPDATE]


@pytest.mark.django_db
def test_an_account_without_an_email_gets_nothing(account_factory):
    nobody = account_factory(email=None, username="no-mail", password="correct horse battery")

    notifications.notify(nobody, emails.PASSWORD_UPDATE, env=env())

    assert not OutboxEmail.objects.exists()
    assert not AuditLogEntry.objects.filter(type=audit.SECURITY_NOTIFICATION_SENT).exists()


@pytest.mark.django_db(transaction=True)
def test_a_change_that_rolls_back_sends_nothing(jane, mailoutbox):
    """security-checks AU-04: only a committed change is reported."""
    with pytest.raises(RuntimeError), transaction.atomic():
        notifications.notify(jane, emails.PASSWORD_UPDATE, env=env())
        raise RuntimeError("the action failed after notifying")

    assert not OutboxEmail.objects.exists()
    assert not AuditLogEntry.objects.filter(type=audit.SECURITY_NOTIFICATION_SENT).exists()
    assert mailoutbox == []


def test_an_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="not a security notification"):
        notifications.notify(None, emails.LOGIN, env=None)  # type: ignore[arg-type]


# -- the audit entry ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_notification_is_audited_with_its_kind(jane):
    notifications.notify(jane, emails.MFA_DELETE, env=env())

    entry = AuditLogEntry.objects.get(type=audit.SECURITY_NOTIFICATION_SENT)
    assert entry.actor_user_id == jane.pk
    assert entry.meta_source_ip == "203.0.113.9"
    # Hanko: the address is stored in the clear; we mask it like the actor's.
    assert entry.details == {
        "template": "mfa_delete",
        "email_address": "j*****@example.com",
        "delivered_by_hanko": "true",
    }


@pytest.mark.django_db(transaction=True)
@override_settings(HANKOFLOW={"EMAIL_DELIVERY": {"ENABLED": False}})
def test_with_delivery_off_nothing_goes_out_and_the_audit_says_so(jane, mailoutbox):
    with transaction.atomic():
        notifications.notify(jane, emails.PASSWORD_UPDATE, env=env())

    assert mailoutbox == []
    assert OutboxEmail.objects.get().status == OutboxEmail.Status.SENT  # closed, with a note
    entry = AuditLogEntry.objects.get(type=audit.SECURITY_NOTIFICATION_SENT)
    assert entry.details["delivered_by_hanko"] == "false"


# -- a failure never fails the change ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_failing_queue_is_logged_and_the_change_still_commits(
    jane, monkeypatch, caplog, mailoutbox
):
    def broken_queue(*args, **kwargs):
        OutboxEmail.objects.create(kind=None, to=PRIMARY)  # a real database error
        raise AssertionError("not reached")

    monkeypatch.setattr(mail, "queue", broken_queue)
    logger = "hankoflow.services.notifications"
    with caplog.at_level(logging.ERROR, logger=logger), transaction.atomic():
        accounts.set_username(jane, "jane")  # the change being reported
        notifications.notify(jane, emails.PASSWORD_UPDATE, env=env())
        accounts.set_username(jane, "jane2")  # the transaction is still usable

    assert accounts.username_of(accounts.get(jane.pk)).username == "jane2"
    assert "Could not queue the password_update security notification" in caplog.text
    assert not OutboxEmail.objects.exists()
    assert not AuditLogEntry.objects.filter(type=audit.SECURITY_NOTIFICATION_SENT).exists()
    assert mailoutbox == []


@pytest.mark.django_db(transaction=True)
def test_a_failing_audit_takes_its_email_with_it(jane, monkeypatch, mailoutbox):
    def broken_record(*args, **kwargs):
        raise RuntimeError("audit table gone")

    monkeypatch.setattr(audit, "record", broken_record)
    with transaction.atomic():
        notifications.notify(jane, emails.PASSWORD_UPDATE, env=env())

    assert not OutboxEmail.objects.exists()
    assert mailoutbox == []
