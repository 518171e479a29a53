"""The audit entry of a disconnected third-party identity passes the admin API's schema (its
``AuditLogTypes`` enum is Hanko's: a type of our own would not)."""

from __future__ import annotations

import pytest

from hankoflow.models import Identity
from hankoflow.services.thirdparty import identities

pytestmark = pytest.mark.django_db


def test_the_disconnect_entry_is_listed_by_the_admin_api(admin_api, account_factory) -> None:
    account = account_factory("alice@example.com")
    identity = Identity.objects.create(account=account, provider_id="github", subject="gh-1")
    assert identities.disconnect(identity)
    response = admin_api().get("/admin-api/audit_logs?type=thirdparty_linking_succeeded")
    assert response.status_code == 200  # the client checked the body against the schema
    [entry] = response.json()
    assert entry["actor_user_id"] == str(account.pk)
    assert entry["details"] == {
        "provider": "github",
        "identity_id": str(identity.id),
        "disconnect": True,
    }
