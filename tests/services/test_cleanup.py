"""Deleting what no longer matters (issue 11, services/cleanup.py): rows on both sides of every
boundary, a dry run, batches, retentions of 0, and the same on PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from django.test import override_settings

from hankoflow import clock
from hankoflow.models import (
    AttemptBudget,
    AuditLogEntry,
    Flow,
    OutboxEmail,
    Passcode,
    Session,
    TrustedDevice,
    WebauthnChallenge,
    WebhookAttempt,
    WebhookDelivery,
)
from hankoflow.models.attempts import ALL_NETWORKS
from hankoflow.services import attempts, cleanup

pytestmark = pytest.mark.django_db

TICK = timedelta(microseconds=1)
DAY = timedelta(days=1)
AUDIT_RETENTION = timedelta(hours=720)
OUTBOX_RETENTION = timedelta(days=7)


def _expiring(account, now: datetime, expires_at: datetime, tag: str) -> None:
    """One row of every expiring table, expiring at ``expires_at``; ``tag`` in a text column."""
    Flow.objects.create(
        name="login", state=tag, stash={}, csrf_token_hash="x", expires_at=expires_at
    )
    Passcode.objects.create(
        email=f"{tag}@example.com", account=account, code_hash="x", expires_at=expires_at
    )
    WebauthnChallenge.objects.create(
        ceremony="login",
        challenge=f"{tag}-{uuid.uuid4()}",
        user_verification="preferred",
        expires_at=expires_at,
    )
    Session.objects.create(
        account=account,
        user_agent=tag,
        created_at=now - DAY,
        updated_at=now - DAY,
        last_used=now - DAY,
        expires_at=expires_at,
    )
    TrustedDevice.objects.create(
        account=account, token_hash=f"{tag}-{uuid.uuid4().hex}"[:64], expires_at=expires_at
    )


def _budget(subject: str, *, failed_at=None, succeeded_at=None, failures=0) -> None:
    AttemptBudget.objects.create(
        kind="password",
        subject=subject,
        network=ALL_NETWORKS,
        failures=failures,
        last_failure_at=failed_at,
        last_success_at=succeeded_at,
    )


def _tags(model, field: str) -> set[str]:
    return set(model.objects.values_list(field, flat=True))


@pytest.fixture
def rows(account_factory):
    """Rows around every boundary at a fixed ``now``; returns ``now``."""
    account = account_factory("cleanup@example.com")
    now = clock.now()
    _expiring(account, now, now - DAY, "long-gone")
    _expiring(account, now, now, "expires-now")  # expired: expiry is "not after now"
    _expiring(account, now, now + TICK, "alive")
    policy = attempts.DEFAULT_POLICY
    # Kept: a failure that still counts, a recent success, both; gone: neither.
    _budget("counting", failed_at=now - policy.cooldown + TICK, failures=3)
    _budget("known", succeeded_at=now - policy.known_network_for + TICK)
    _budget("cooled", failed_at=now - policy.cooldown, failures=3)
    _budget("forgotten", succeeded_at=now - policy.known_network_for)
    _budget("cooled-and-forgotten", failed_at=now - 2 * DAY, succeeded_at=now - 100 * DAY)
    _budget("never-used")
    _budget("cooled-but-known", failed_at=now - 2 * DAY, succeeded_at=now - DAY, failures=1)
    for status in OutboxEmail.Status.values:
        for age, label in ((OUTBOX_RETENTION + TICK, "old"), (OUTBOX_RETENTION, "edge")):
            OutboxEmail.objects.create(
                kind="login",
                to=f"{status}-{label}@example.com",
                language="en",
                status=status,
                created_at=now - age,
            )
    for status in WebhookDelivery.Status.values:
        for age, label in ((OUTBOX_RETENTION + TICK, "old"), (OUTBOX_RETENTION, "edge")):
            delivery = WebhookDelivery.objects.create(
                callback=f"https://example.com/{status}-{label}",
                event="user.login",
                data={},
                status=status,
                created_at=now - age,
            )
            WebhookAttempt.objects.create(delivery=delivery, status_code=500)
    for age, label in ((AUDIT_RETENTION + TICK, "old"), (AUDIT_RETENTION, "edge")):
        AuditLogEntry.objects.create(type=label, meta_http_request_id="r", created_at=now - age)
    return now


EXPECTED = {
    "flows": 2,
    "passcodes": 2,
    "webauthn_challenges": 2,
    "sessions": 2,
    "trusted_devices": 2,
    "attempt_budgets": 4,
    "outbox_emails": 2,
    "webhook_deliveries": 2,
    "audit_log_entries": 1,
}


def _assert_survivors() -> None:
    assert {c.rsplit("/", 1)[1] for c in _tags(WebhookDelivery, "callback")} == {
        "pending-old",
        "pending-edge",
        "sent-edge",
        "failed-edge",
    }
    assert WebhookAttempt.objects.count() == 4
    assert _tags(Flow, "state") == {"alive"}
    assert _tags(Passcode, "email") == {"alive@example.com"}
    assert {c.split("-")[0] for c in _tags(WebauthnChallenge, "challenge")} == {"alive"}
    assert _tags(Session, "user_agent") == {"alive"}
    assert {t.split("-")[0] for t in _tags(TrustedDevice, "token_hash")} == {"alive"}
    assert _tags(AttemptBudget, "subject") == {"counting", "known", "cooled-but-known"}
    assert _tags(OutboxEmail, "to") == {
        "pending-old@example.com",
        "pending-edge@example.com",
        "sent-edge@example.com",
        "failed-edge@example.com",
    }
    assert _tags(AuditLogEntry, "type") == {"edge"}


def test_deletes_exactly_what_no_longer_matters(rows):
    assert cleanup.run(now=rows) == EXPECTED
    _assert_survivors()
    assert cleanup.run(now=rows) == dict.fromkeys(EXPECTED, 0)


def test_dry_run_counts_and_deletes_nothing(rows):
    before = {t.name: t.model.objects.count() for t in cleanup.TARGETS}
    assert cleanup.run(now=rows, dry_run=True) == EXPECTED
    after = {t.name: t.model.objects.count() for t in cleanup.TARGETS}
    assert after == before


def test_small_batches_delete_the_same_rows(rows):
    progress: list[tuple[str, int]] = []
    counts = cleanup.run(now=rows, batch_size=1, progress=lambda *a: progress.append(a))
    assert counts == EXPECTED
    _assert_survivors()
    assert ("attempt_budgets", 4) in progress and ("attempt_budgets", 1) in progress


def test_only_some_tables(rows):
    assert cleanup.run(now=rows, only=["flows"]) == {"flows": 2}
    assert Passcode.objects.count() == 3
    with pytest.raises(ValueError, match="unknown table"):
        cleanup.run(now=rows, only=["users"])


def test_retention_zero_keeps_outbox_and_audit_log_for_ever(rows):
    with override_settings(
        HANKOFLOW={"AUDIT_LOG": {"RETENTION": 0}, "EMAIL_DELIVERY": {"OUTBOX_RETENTION": 0}}
    ):
        counts = cleanup.run(now=rows + 1000 * DAY)
    assert counts["outbox_emails"] == 0 and counts["audit_log_entries"] == 0
    assert OutboxEmail.objects.count() == 6 and AuditLogEntry.objects.count() == 2


def test_retentions_follow_the_settings(rows):
    with override_settings(
        HANKOFLOW={"AUDIT_LOG": {"RETENTION": 60}, "EMAIL_DELIVERY": {"OUTBOX_RETENTION": 60}}
    ):
        counts = cleanup.run(now=rows)
    assert counts["outbox_emails"] == 4 and counts["audit_log_entries"] == 2
    assert _tags(OutboxEmail, "status") == {"pending"}


def test_a_deleted_budget_answers_as_the_spent_row_did(rows):
    """What makes a budget row deletable is exactly what makes reserve() ignore it."""
    policy = attempts.DEFAULT_POLICY
    for row in AttemptBudget.objects.all():
        spent = attempts._current(policy, row, rows) == 0 and not attempts._known(policy, row, rows)
        assert spent == (row.subject not in {"counting", "known", "cooled-but-known"})


@pytest.mark.slow
@pytest.mark.usefixtures("postgres_only")
def test_on_postgresql(rows):
    assert cleanup.run(now=rows, dry_run=True) == EXPECTED
    assert cleanup.run(now=rows, batch_size=2) == EXPECTED
    _assert_survivors()


@pytest.mark.parametrize(
    "value",
    [
        {"AUDIT_LOG": {"RETENTION": -1}},
        {"EMAIL_DELIVERY": {"OUTBOX_RETENTION": -1}},
        {"SESSION": {"KEY_ROTATION": {"INTERVAL": -1}}},
    ],
)
def test_negative_retentions_and_intervals_are_refused_at_start_up(value):
    from hankoflow.checks import check_settings

    with override_settings(HANKOFLOW=value):
        assert "hankoflow.E007" in {problem.id for problem in check_settings()}


def test_every_attempt_kind_has_the_policy_the_budget_condition_assumes():
    for kind in (attempts.PASSWORD, attempts.PASSCODE, attempts.TOTP):
        assert kind.policy == attempts.DEFAULT_POLICY, f"cleanup needs {kind.name}'s limits"
