"""The session-validity cache across processes: two app servers (gunicorn, one sync worker each)
share PostgreSQL and Redis with this test process. A session both servers have answered from
their Redis entry (``GET /api/whoami``: DRF's ``HankoSessionAuthentication``, ``request.user``)
is refused by both on the very next request after each way a session ends, whether a server or
this process ended it. Needs the real services (``HANKOFLOW_TEST_SERVICES=1``).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.test import Client, override_settings

from hankoflow.conf import settings as hankoflow_settings
from hankoflow.models import Account, Session
from hankoflow.services import api_keys, sessions
from hankoflow.services.account_deletion import delete_account
from hankoflow.services.sessions import validity
from tests.integration import test_two_servers as two

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("HANKOFLOW_TEST_SERVICES") != "1",
        reason="needs the real services: run bin/test (or bin/services start + env)",
    ),
]

servers = two.servers
mail_dir = two.mail_dir
Server = two.Server


def whoami(server: Server, token: str) -> int:
    response = requests.get(f"{server.url}/api/whoami", headers=two.bearer(token), timeout=10)
    assert response.status_code < 500, server.log_tail()
    return response.status_code


def warm_on_both(servers: list[Server], token: str) -> None:
    for server in servers:
        assert whoami(server, token) == 200
        assert whoami(server, token) == 200
    found = caches[hankoflow_settings.RATE_LIMITER.CACHE].get(
        validity.entry_key(validity.unverified_session_id(token))
    )
    assert found is not None and found[0] == validity.VALID, found


def logout_on_b(servers: list[Server], account: Account, issued) -> None:
    out = requests.post(f"{servers[1].url}/logout", headers=two.bearer(issued.token), timeout=10)
    assert out.status_code == 204, out.text


def revoke_all(servers: list[Server], account: Account, issued) -> None:
    # What a password recovery or change does.
    assert sessions.revoke_all(account) == 1


def limit_eviction(servers: list[Server], account: Account, issued) -> None:
    with override_settings(HANKOFLOW={"SESSION": {"LIMIT": 1}}):
        sessions.issue(account, amr=["pwd"], env=None, remember_me=None)


def deactivation(servers: list[Server], account: Account, issued) -> None:
    get_user_model().objects.filter(pk=account.user_id).update(is_active=False)


def account_deletion(servers: list[Server], account: Account, issued) -> None:
    delete_account(account, env=None)


def user_deletion(servers: list[Server], account: Account, issued) -> None:
    get_user_model().objects.get(pk=account.user_id).delete()


def django_admin_delete(servers: list[Server], account: Account, issued) -> None:
    root = get_user_model().objects.create_superuser("root", "root@example.org", "pw-root-1234")
    admin = Client()
    admin.force_login(root)
    url = f"/admin/hankoflow/session/{issued.session_id}/delete/"
    assert admin.post(url, {"post": "yes"}).status_code == 302


def admin_api_delete_on_a(servers: list[Server], account: Account, issued) -> None:
    key = api_keys.create("validity-servers", scope=api_keys.FULL)
    url = f"{servers[0].url}/admin-api/users/{account.pk}/sessions/{issued.session_id}"
    response = requests.delete(url, headers=two.bearer(key.plaintext), timeout=10)
    assert response.status_code == 204, response.text


ENDINGS: dict[str, Callable[[list[Server], Account, object], None]] = {
    "logout on the other server": logout_on_b,
    "revoke_all (password change)": revoke_all,
    "session limit": limit_eviction,
    "user deactivated": deactivation,
    "account deleted": account_deletion,
    "user deleted": user_deletion,
    "Django admin delete": django_admin_delete,
    "admin API delete on a server": admin_api_delete_on_a,
}


@pytest.mark.parametrize("ending", list(ENDINGS), ids=list(ENDINGS))
def test_a_cached_session_ends_on_both_servers_at_once(
    servers: list[Server], account_factory, ending: str
):
    account = account_factory(f"validity-{ending.split()[0].lower()}@example.com")
    issued = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    warm_on_both(servers, issued.token)
    ENDINGS[ending](servers, account, issued)
    if ending != "user deactivated":
        assert not Session.objects.filter(pk=issued.session_id).exists()
    for server in servers:
        assert whoami(server, issued.token) in (401, 403)
