"""``account_delete`` and ``session_delete`` (flow-api.md §4.3.2 #1, #19; platform.md §1.21)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.dispatch import receiver

from hankoflow import names as n
from hankoflow import signals
from hankoflow.models import Account, AuditLogEntry, Email, Session
from hankoflow.services import audit, sessions
from hankoflow.testing.client import FlowClient


@pytest.fixture
def deletion_allowed(settings):
    settings.HANKOFLOW = {**getattr(settings, "HANKOFLOW", {}), "ACCOUNT": {"ALLOW_DELETION": True}}


def test_account_delete_is_not_offered_by_default(profile_session) -> None:
    state = profile_session().start()
    assert n.ACTION_ACCOUNT_DELETE not in state.body["actions"]


def test_account_delete_removes_everything_and_forgets_the_cookie(
    profile_session, deletion_allowed
) -> None:
    person = profile_session()
    account_id, user_pk = person.account.pk, person.account.user.pk
    sessions.issue(person.account, amr=["pwd"], env=None, remember_me=None)  # another device
    deleted = []

    @receiver(signals.account_deleted)
    def on_deleted(sender, account, user, by_staff, **kwargs):
        emails = Email.objects.filter(account=account).count()
        deleted.append((account.pk, user.pk, by_staff, emails))

    state = person.start()
    try:
        answer = person.act(state, n.ACTION_ACCOUNT_DELETE)
    finally:
        signals.account_deleted.disconnect(on_deleted)
    assert answer.status == 200
    assert answer.state == n.STATE_ACCOUNT_DELETED
    assert answer.cookies["hanko"]["max-age"] == 0
    assert not Account.objects.filter(pk=account_id).exists()
    assert not get_user_model().objects.filter(pk=user_pk).exists()
    assert not Session.objects.filter(account_id=account_id).exists()
    # Receivers see the account while it still has its data; the audit trail survives.
    assert deleted == [(account_id, user_pk, None, 1)]
    entries = AuditLogEntry.objects.filter(actor_user_id=account_id)
    types = set(entries.values_list("type", flat=True))
    assert {audit.USER_DELETED, audit.USER_LOGGED_OUT} <= types
    # The old session is gone: a new profile flow is refused.
    assert FlowClient(person.client).start(n.FLOW_PROFILE).status == 401


def test_an_adapter_can_keep_the_django_user(profile_session, deletion_allowed, settings) -> None:
    settings.HANKOFLOW = {**settings.HANKOFLOW, "ADAPTER": "tests.flows.profile.adapters.KeepUser"}
    person = profile_session()
    user_pk = person.account.user.pk
    state = person.start()
    assert person.act(state, n.ACTION_ACCOUNT_DELETE).state == n.STATE_ACCOUNT_DELETED
    user = get_user_model().objects.get(pk=user_pk)
    assert not user.is_active
    assert not Account.objects.filter(user=user).exists()


def test_session_delete_offers_only_the_other_sessions(profile_session) -> None:
    person = profile_session()
    state = person.start()
    assert n.ACTION_SESSION_DELETE not in state.body["actions"]  # only the current one
    other = sessions.issue(person.account, amr=["pwd"], env=None, remember_me=None)
    state = person.start()
    item = state.body["actions"][n.ACTION_SESSION_DELETE]["inputs"]["session_id"]
    other_id = str(sessions.decode(other.token)["session_id"])
    assert [v["value"] for v in item["allowed_values"]] == [other_id]
    assert item["hidden"] is True


def test_session_delete_ends_the_other_session(profile_session) -> None:
    person = profile_session()
    other = sessions.issue(person.account, amr=["pwd"], env=None, remember_me=None)
    other_id = str(sessions.decode(other.token)["session_id"])
    ended = []

    @receiver(signals.session_revoked)
    def on_revoked(sender, session, reason, **kwargs):
        ended.append((str(session.pk), reason))

    state = person.start()
    try:
        answer = person.act(state, n.ACTION_SESSION_DELETE, {"session_id": other_id})
    finally:
        signals.session_revoked.disconnect(on_revoked)
    assert answer.status == 200 and answer.state == n.STATE_PROFILE_INIT
    assert ended == [(other_id, signals.REASON_USER_REVOKED)]
    assert [s["id"] for s in answer.body["payload"]["sessions"]] != [other_id]
    assert len(answer.body["payload"]["sessions"]) == 1
    assert n.ACTION_SESSION_DELETE not in answer.body["actions"]
    assert sessions.validate(other.token) is None


@pytest.mark.parametrize("wanted", ["current", "foreign", "malformed", ""])
def test_session_delete_refuses_what_is_not_offered(profile_session, wanted) -> None:
    person, stranger = profile_session(), profile_session()
    sessions.issue(person.account, amr=["pwd"], env=None, remember_me=None)
    state = person.start()
    current = next(s["id"] for s in state.body["payload"]["sessions"] if s["current"])
    foreign = str(Session.objects.filter(account=stranger.account).get().pk)
    value = {"current": current, "foreign": foreign, "malformed": "x' OR 1=1", "": ""}[wanted]
    answer = person.act(state, n.ACTION_SESSION_DELETE, {"session_id": value})
    assert answer.status == 400
    assert answer.error_code == "form_data_invalid_error"
    assert Session.objects.filter(pk=foreign).exists()
    assert Session.objects.filter(account=person.account).count() == 2


def test_session_delete_of_a_session_ended_meanwhile_is_no_error(profile_session) -> None:
    person = profile_session()
    other = sessions.issue(person.account, amr=["pwd"], env=None, remember_me=None)
    other_id = str(sessions.decode(other.token)["session_id"])
    state = person.start()
    sessions.revoke(other_id)
    answer = person.act(state, n.ACTION_SESSION_DELETE, {"session_id": other_id})
    # Nothing is left to revoke, so the action is no longer offered (Hanko's answer).
    assert answer.status == 403
    assert answer.error_code == "operation_not_permitted_error"
