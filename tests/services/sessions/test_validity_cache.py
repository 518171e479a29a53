"""The session-validity cache (services/sessions/validity.py): ``request.user`` from a warm entry
costs one cache round trip and one SELECT of the user, and every way a session ends ends access
on the very next request.

The shared cache is ``InProcessSharedCache`` (Redis inside one interpreter: every "process" sees
one store, ``add`` is atomic). tests/services/sessions/test_validity_redis.py runs the same
against the real Redis, and across two app servers.
"""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from hankoflow.auth import HankoSessionBackend, install
from hankoflow.models import Session
from hankoflow.services import api_keys, passwords, sessions, shared_cache
from hankoflow.services.account_deletion import delete_account
from hankoflow.services.sessions import validity
from tests.services.sessions.validity_support import InProcessSharedCache, cache_settings

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.services.sessions.validity_support")]


@pytest.fixture
def shared():
    InProcessSharedCache.reset()
    shared_cache.reset()
    with cache_settings():
        yield InProcessSharedCache
    InProcessSharedCache.reset()
    shared_cache.reset()


@pytest.fixture
def account(account_factory):
    return account_factory("jane@example.com", password="a long enough password")


@pytest.fixture
def issued(account):
    return sessions.issue(account, amr=["pwd"], env=None, remember_me=None)


def who(token: str, path: str = "/who") -> dict:
    response = Client().get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
    if response.status_code != 200:
        return {"status": response.status_code}
    return response.json()


def signed_in(token: str, account) -> bool:
    return who(token) == {"user": account.user.pk, "sub": str(account.pk)}


def warm(token: str, account) -> None:
    """Two requests: the first fills the entry, the second is answered from it."""
    assert signed_in(token, account)
    assert signed_in(token, account)
    entry = InProcessSharedCache.store.get(validity.entry_key(_sid(token)))
    assert entry is not None and entry[0] == validity.VALID


def _sid(token: str):
    return validity.unverified_session_id(token)


def entry_of(issued):
    return InProcessSharedCache.store.get(validity.entry_key(_sid(issued.token)))


# --- the fast path --------------------------------------------------------------------------


def test_a_warm_request_user_is_one_user_select_and_one_cache_round_trip(shared, issued, account):
    warm(issued.token, account)
    shared.calls.clear()
    with CaptureQueriesContext(connection) as captured:
        assert signed_in(issued.token, account)
    statements = [q["sql"] for q in captured.captured_queries]
    assert len(statements) == 1, statements
    user_table = get_user_model()._meta.db_table
    assert f'FROM "{user_table}"' in statements[0] and "hankoflow_session" not in statements[0]
    # The entry and the key-set generation in one round trip.
    assert shared.calls == ["get_many"]


def test_drf_authentication_uses_the_entry_too(shared, issued, account):
    assert who(issued.token, "/drf-who") == {"user": account.user.pk, "sub": str(account.pk)}
    with CaptureQueriesContext(connection) as captured:
        assert who(issued.token, "/drf-who") == {"user": account.user.pk, "sub": str(account.pk)}
    assert len(captured.captured_queries) == 1
    assert "hankoflow_session" not in captured.captured_queries[0]["sql"]


def test_a_miss_checks_the_row_records_last_used_and_adds_an_entry_for_the_resolution(
    shared, issued, account, clock
):
    clock.advance(seconds=30)
    assert signed_in(issued.token, account)
    row = Session.objects.get(pk=issued.session_id)
    assert row.last_used >= clock.now() - timedelta(seconds=1)
    entry = entry_of(issued)
    assert entry[:3] == (validity.VALID, account.user.pk, str(account.pk))
    assert entry[3] == pytest.approx(clock.timestamp() + 5, abs=1)
    # Past the resolution the entry is not trusted: the row is read (and last_used written).
    clock.advance(seconds=6)
    with CaptureQueriesContext(connection) as captured:
        assert signed_in(issued.token, account)
    assert any("hankoflow_session" in q["sql"] for q in captured.captured_queries)


def test_the_entry_never_outlives_the_session(account):
    InProcessSharedCache.reset()
    shared_cache.reset()
    with cache_settings(LIFESPAN=3):
        issued = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
        assert signed_in(issued.token, account)
        row = Session.objects.get(pk=issued.session_id)
        assert entry_of(issued)[3] <= row.expires_at.timestamp()
    InProcessSharedCache.reset()


def test_auser_and_the_authentication_backend_use_the_entry(shared, issued, account, rf):
    warm(issued.token, account)
    request = rf.get("/", HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    install(request)
    with CaptureQueriesContext(connection) as captured:
        assert async_to_sync(request.auser)() == account.user
        assert HankoSessionBackend().authenticate(None, session_token=issued.token) == account.user
    assert not any("hankoflow_session" in q["sql"] for q in captured.captured_queries)


# --- every way a session ends -----------------------------------------------------------------


def test_logout_ends_a_cached_session_at_once(shared, issued, account):
    warm(issued.token, account)
    response = Client().post("/logout", HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    assert response.status_code == 204
    assert entry_of(issued) == validity.ENDED
    assert who(issued.token) == {"user": None, "sub": None}
    assert who(issued.token, "/drf-who")["status"] in (401, 403)


def test_revoke_ends_a_cached_session_at_once(shared, issued, account):
    warm(issued.token, account)
    assert sessions.revoke(issued.session_id)
    assert not signed_in(issued.token, account)


def test_revoke_all_ends_every_cached_session_at_once(shared, account):
    # Password recovery and change end all of a user's sessions through revoke_all.
    first = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    second = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    warm(first.token, account)
    warm(second.token, account)
    assert sessions.revoke_all(account) == 2
    assert not signed_in(first.token, account)
    assert not signed_in(second.token, account)


def test_a_password_change_ends_the_other_cached_sessions_at_once(shared, account):
    kept = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    other = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    warm(kept.token, account)
    warm(other.token, account)
    with transaction.atomic():
        ended = passwords.end_other_sessions(account, keep=kept.session_id, env=None)
    assert ended == [other.session_id]
    assert not signed_in(other.token, account)
    assert signed_in(kept.token, account)


def test_the_session_limit_ends_a_cached_session_at_once(account):
    InProcessSharedCache.reset()
    shared_cache.reset()
    with cache_settings(LIMIT=1):
        oldest = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
        Session.objects.filter(pk=oldest.session_id).update(
            created_at=Session.objects.get(pk=oldest.session_id).created_at - timedelta(seconds=5)
        )
        warm(oldest.token, account)
        newest = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
        assert not signed_in(oldest.token, account)
        assert signed_in(newest.token, account)
    InProcessSharedCache.reset()


def test_the_idle_timeout_ends_a_cached_session(account, clock):
    InProcessSharedCache.reset()
    shared_cache.reset()
    with cache_settings(IDLE_TIMEOUT=60):
        issued = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
        warm(issued.token, account)
        clock.advance(seconds=61)
        assert not signed_in(issued.token, account)
        assert not Session.objects.filter(pk=issued.session_id).exists()
        assert entry_of(issued) == validity.ENDED
    InProcessSharedCache.reset()


def test_an_entry_ends_at_the_idle_deadline(account, clock):
    InProcessSharedCache.reset()
    shared_cache.reset()
    with cache_settings(IDLE_TIMEOUT=3):
        issued = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
        warm(issued.token, account)
        assert entry_of(issued)[3] <= clock.timestamp() + 3
    InProcessSharedCache.reset()


def test_account_deletion_ends_a_cached_session_at_once(shared, issued, account):
    warm(issued.token, account)
    delete_account(account, env=None)
    assert who(issued.token) == {"user": None, "sub": None}


def test_the_admin_api_session_delete_ends_a_cached_session_at_once(shared, issued, account):
    warm(issued.token, account)
    key = api_keys.create("validity-test", scope=api_keys.FULL)
    client = Client(headers={"Authorization": f"Bearer {key.plaintext}"})
    response = client.delete(f"/admin-api/users/{account.pk}/sessions/{issued.session_id}")
    assert response.status_code == 204, response.content
    assert not signed_in(issued.token, account)


def test_a_django_admin_delete_ends_a_cached_session_at_once(shared, issued, account):
    warm(issued.token, account)
    staff = get_user_model().objects.create_superuser("root", "root@example.org", "pw-root-1234")
    admin = Client()
    admin.force_login(staff)
    url = f"/admin/hankoflow/session/{issued.session_id}/delete/"
    assert admin.post(url, {"post": "yes"}).status_code == 302
    assert not Session.objects.filter(pk=issued.session_id).exists()
    assert not signed_in(issued.token, account)


def test_a_plain_orm_delete_of_sessions_writes_a_marker_per_row(shared, account):
    # post_delete is sent per row by a queryset delete once a receiver is connected for Session
    # (Django's collector then skips its fast delete): bulk deletes are covered too.
    issued = [sessions.issue(account, amr=[], env=None, remember_me=None) for _ in range(3)]
    for one in issued:
        warm(one.token, account)
    Session.objects.filter(account=account).delete()
    assert [entry_of(one) for one in issued] == [validity.ENDED] * 3
    assert not any(signed_in(one.token, account) for one in issued)


def test_deactivating_the_user_ends_access_at_once(shared, issued, account):
    warm(issued.token, account)
    get_user_model().objects.filter(pk=account.user.pk).update(is_active=False)
    assert who(issued.token) == {"user": None, "sub": None}


def test_deleting_the_user_ends_a_cached_session_at_once(shared, issued, account):
    warm(issued.token, account)
    get_user_model().objects.get(pk=account.user.pk).delete()
    assert entry_of(issued) == validity.ENDED
    assert who(issued.token) == {"user": None, "sub": None}


# --- the race and the rollback ------------------------------------------------------------


def test_a_revocation_committing_between_a_miss_and_its_add_leaves_no_valid_entry(
    shared, issued, account, monkeypatch
):
    real_remember = validity.remember

    def revoked_meanwhile(cache, key, info):
        # The populator has read the row; the revocation now deletes it and commits.
        assert sessions.revoke(issued.session_id)
        real_remember(cache, key, info)

    monkeypatch.setattr(validity, "remember", revoked_meanwhile)
    assert signed_in(issued.token, account)  # it read the row before the revocation
    monkeypatch.setattr(validity, "remember", real_remember)
    assert entry_of(issued) == validity.ENDED
    assert not signed_in(issued.token, account)


def test_an_add_just_before_the_revocation_is_overwritten(shared, issued, account):
    assert signed_in(issued.token, account)
    assert entry_of(issued)[0] == validity.VALID
    assert sessions.revoke(issued.session_id)
    assert entry_of(issued) == validity.ENDED
    assert not signed_in(issued.token, account)


def test_the_marker_is_written_before_the_revocation_commits(shared, issued, account):
    warm(issued.token, account)
    with transaction.atomic():
        assert sessions.revoke(issued.session_id)
        assert entry_of(issued) == validity.ENDED  # not waiting for on_commit


def test_a_rolled_back_revocation_costs_reads_never_a_wrong_answer(shared, issued, account):
    warm(issued.token, account)
    with pytest.raises(RuntimeError), transaction.atomic():
        sessions.revoke(issued.session_id)
        raise RuntimeError("rolled back")
    assert Session.objects.filter(pk=issued.session_id).exists()
    # Still valid (the database says so), checked in the database, and no entry added over
    # the marker.
    with CaptureQueriesContext(connection) as captured:
        assert signed_in(issued.token, account)
    assert any("hankoflow_session" in q["sql"] for q in captured.captured_queries)
    assert entry_of(issued) == validity.ENDED


def test_an_entry_for_another_subject_is_not_trusted(shared, issued, account, account_factory):
    other = account_factory("other@example.com")
    key = validity.entry_key(_sid(issued.token))
    far_future = 10**12
    InProcessSharedCache.store.set(key, (validity.VALID, other.user.pk, str(other.pk), far_future))
    assert signed_in(issued.token, account)  # the row decided, not the foreign entry


# --- when the cache cannot be trusted -------------------------------------------------------


def test_a_cache_that_is_down_falls_back_to_the_database_without_errors(shared, issued, account):
    warm(issued.token, account)
    shared.down = True
    assert signed_in(issued.token, account)
    calls = len(shared.calls)
    # Skipped for a while after the failure: no timeout per request.
    assert signed_in(issued.token, account)
    assert len(shared.calls) == calls
    response = Client().post("/logout", HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    assert response.status_code == 204  # the marker could not be written: still no 500
    assert not signed_in(issued.token, account)


def test_a_marker_that_failed_is_written_again_after_the_commit(
    shared, issued, account, django_capture_on_commit_callbacks
):
    warm(issued.token, account)
    shared.down = True
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        assert sessions.revoke(issued.session_id)
    shared.down = False
    for callback in callbacks:
        callback()
    assert entry_of(issued) == validity.ENDED


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
        "django.core.cache.backends.filebased.FileBasedCache",
    ],
    ids=["locmem", "dummy", "file"],
)
def test_no_fast_path_without_a_shared_cache_with_an_atomic_add(issued, account, backend, tmp_path):
    with cache_settings(backend, location=str(tmp_path / "cache")):
        assert signed_in(issued.token, account)
        with CaptureQueriesContext(connection) as captured:
            assert signed_in(issued.token, account)
    assert any("hankoflow_session" in q["sql"] for q in captured.captured_queries)


def test_the_setting_turns_the_fast_path_off(issued, account):
    InProcessSharedCache.reset()
    shared_cache.reset()
    with cache_settings(VALIDITY_CACHE=False):
        assert signed_in(issued.token, account)
        with CaptureQueriesContext(connection) as captured:
            assert signed_in(issued.token, account)
        assert any("hankoflow_session" in q["sql"] for q in captured.captured_queries)
        assert entry_of(issued) is None
    InProcessSharedCache.reset()


def test_forged_and_foreign_tokens_are_refused_without_an_entry(shared, issued, account):
    header, payload, signature = issued.token.split(".")
    assert who(f"{header}.{payload}.{signature[:-4]}AAAA") == {"user": None, "sub": None}
    assert who("not.a.token") == {"user": None, "sub": None}
    assert who("x" * 9000) == {"user": None, "sub": None}
    assert entry_of(issued) is None


@pytest.mark.parametrize("where", ["header", "payload"])
def test_json_nested_thousands_deep_in_a_token_is_refused_not_a_500(shared, where):
    def segment(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    deep = segment("[" * 3000 + "]" * 3000)
    header = segment('{"alg":"RS256","typ":"JWT","kid":"abc"}')
    token = f"{deep}.{segment('{}')}.AAAA" if where == "header" else f"{header}.{deep}.AAAA"
    assert who(token) == {"user": None, "sub": None}
    assert Client().get("/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
