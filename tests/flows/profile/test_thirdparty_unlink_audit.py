"""Disconnecting a third-party identity leaves an audit entry (Hanko records none). It is
Hanko's ``thirdparty_linking_succeeded`` with ``details.disconnect``: a type of our own would
not be in the admin API's ``AuditLogTypes`` enum."""

from __future__ import annotations

import pytest

from hankoflow import names as n
from hankoflow.models import AuditLogEntry
from tests.flows.profile.test_thirdparty import github, token_for  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def test_disconnect_records_an_audit_entry(github, profile_session):  # noqa: F811
    person = profile_session()
    identity, _ = token_for(person.account)
    answer = person.act(
        person.start(),
        n.ACTION_DISCONNECT_THIRDPARTY_OAUTH_PROVIDER,
        {"identity_id": str(identity.id)},
    )
    assert answer.state == n.STATE_PROFILE_INIT, answer.body
    entry = AuditLogEntry.objects.get(type="thirdparty_linking_succeeded")
    assert entry.actor_user_id == person.account.pk
    assert entry.details == {
        "provider": "github",
        "identity_id": str(identity.id),
        "disconnect": True,
    }
    assert entry.meta_http_request_id  # recorded with the request's facts


def test_a_refused_disconnect_records_nothing(github, profile_session):  # noqa: F811
    person = profile_session()
    token_for(person.account)
    answer = person.act(
        person.start(),
        n.ACTION_DISCONNECT_THIRDPARTY_OAUTH_PROVIDER,
        {"identity_id": "00000000-0000-0000-0000-000000000000"},
    )
    assert answer.status == 400, answer.body
    assert not AuditLogEntry.objects.filter(type="thirdparty_linking_succeeded").exists()
