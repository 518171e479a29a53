"""The user's ``last_login``: hankoflow's receiver in place of Django's ``update_last_login``
(hankoflow.apps, hankoflow.services.last_login), on every login path of the host project, and
on PostgreSQL written within the session's statement of a flow sign-in."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model, login, user_logged_in
from django.contrib.auth.models import update_last_login as django_update_last_login
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.db.models.signals import post_save
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from hankoflow import apps as hankoflow_apps
from hankoflow.http.request import RequestEnv
from hankoflow.services import last_login, sessions

PASSWORD = "a long enough password"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def receivers():
    """Restores ``user_logged_in``'s receivers as they were (the tests rewire them)."""
    saved = list(user_logged_in.receivers)
    yield
    with user_logged_in.lock:
        user_logged_in.receivers[:] = saved
        user_logged_in.sender_receivers_cache.clear()


def uid_receiver():
    """The function connected under "update_last_login", or None."""
    for key, receiver, *_ in user_logged_in.receivers:
        if key[0] == last_login.DISPATCH_UID:
            return receiver()
    return None


def flow_password_login(flow_client) -> str:
    state = flow_client.act(
        flow_client.start("login"), "register_client_capabilities", {"webauthn_available": False}
    )
    state = flow_client.act(state, "continue_with_login_identifier", {"email": "jane@example.com"})
    state = flow_client.act(state, "continue_to_password_login")
    return flow_client.act(state, "password_login", {"password": PASSWORD}).state


def http_env() -> RequestEnv:
    return RequestEnv(RequestFactory().post("/login"), "", "", "")


def user_updates(statements: list[str]) -> list[str]:
    table = get_user_model()._meta.db_table
    return [s for s in statements if s.startswith("UPDATE") and table in s]


# --- the receiver in Django's place ---------------------------------------------------------


def test_hankoflow_receiver_replaces_djangos():
    assert uid_receiver() is hankoflow_apps.update_last_login
    assert last_login.connected()
    live = [receiver() for _, receiver, *_ in user_logged_in.receivers]
    assert django_update_last_login not in live


def test_replace_after_auth_ready_replaces_djangos(receivers):
    # As after django.contrib.auth's ready() (auth listed before hankoflow).
    user_logged_in.disconnect(dispatch_uid=last_login.DISPATCH_UID)
    user_logged_in.connect(django_update_last_login, dispatch_uid="update_last_login")
    assert hankoflow_apps.replace_update_last_login(auth_ready=True)
    assert uid_receiver() is hankoflow_apps.update_last_login
    assert len([r for r in user_logged_in.receivers if r[0][0] == "update_last_login"]) == 1


def test_replace_before_auth_ready_takes_the_uid_first(receivers):
    user_logged_in.disconnect(dispatch_uid=last_login.DISPATCH_UID)
    assert hankoflow_apps.replace_update_last_login(auth_ready=False)
    # django.contrib.auth's ready() later: its connect finds the uid taken and adds nothing.
    user_logged_in.connect(django_update_last_login, dispatch_uid="update_last_login")
    assert uid_receiver() is hankoflow_apps.update_last_login
    assert len([r for r in user_logged_in.receivers if r[0][0] == "update_last_login"]) == 1


def test_replace_connects_nothing_when_a_host_app_disconnected_djangos_first(receivers):
    user_logged_in.disconnect(dispatch_uid=last_login.DISPATCH_UID)  # a host app's ready()
    assert not hankoflow_apps.replace_update_last_login(auth_ready=True)
    assert uid_receiver() is None
    assert not last_login.connected()


def test_replace_connects_nothing_for_a_user_model_without_last_login(receivers, monkeypatch):
    class NoLastLogin:
        last_login = None  # how a custom user model drops AbstractBaseUser's field

    user_logged_in.disconnect(dispatch_uid=last_login.DISPATCH_UID)
    monkeypatch.setattr(hankoflow_apps, "get_user_model", lambda: NoLastLogin)
    assert not hankoflow_apps.replace_update_last_login(auth_ready=False)
    assert uid_receiver() is None


@pytest.mark.parametrize("auth_first", [True, False], ids=["auth-first", "hankoflow-first"])
def test_app_order_in_a_fresh_process(auth_first):
    """Real ``django.setup()`` with django.contrib.auth before and after hankoflow."""
    script = f"""
import django
from django.conf import settings
import tests.settings as base
# Without the admin: hankoflow's admin replaces auth's User admin, so it must come after auth.
apps = [a for a in base.INSTALLED_APPS if a not in ("hankoflow", "django.contrib.admin")]
at = apps.index("django.contrib.auth") + (1 if {auth_first} else 0)
apps.insert(at, "hankoflow")
values = {{k: getattr(base, k) for k in dir(base) if k.isupper()}}
values["INSTALLED_APPS"] = apps
settings.configure(**values)
django.setup()
from django.contrib.auth import user_logged_in
from hankoflow.services import last_login
uids = [r for r in user_logged_in.receivers if r[0][0] == "update_last_login"]
assert len(uids) == 1, uids
assert last_login.connected(), uids
print("ok")
"""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-3000:]


# --- every login path updates last_login ----------------------------------------------------


@pytest.mark.django_db
def test_flow_password_login_sets_last_login(flow_client, account_factory):
    account = account_factory("jane@example.com", password=PASSWORD)
    assert flow_password_login(flow_client) == "success"
    account.user.refresh_from_db()
    assert account.user.last_login is not None


@pytest.mark.django_db
def test_django_admin_login_sets_last_login():
    user = get_user_model().objects.create_user("root", "root@example.com", PASSWORD)
    user.is_staff = True
    user.save()
    response = Client().post(
        "/admin/login/", {"username": "root", "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302, response.content[:500]
    user.refresh_from_db()
    assert user.last_login is not None


@pytest.mark.django_db
def test_django_auth_login_sets_last_login_with_one_update():
    user = get_user_model().objects.create_user("jo", "jo@example.com", PASSWORD)
    request = RequestFactory().post("/")
    request.session = SessionStore()
    with CaptureQueriesContext(connection) as captured:
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    stored = get_user_model().objects.get(pk=user.pk).last_login
    assert stored is not None
    assert stored == user.last_login
    updates = user_updates([q["sql"] for q in captured.captured_queries])
    assert len(updates) == 1 and "last_login" in updates[0], updates


@pytest.mark.django_db
def test_a_host_that_disconnects_update_last_login_disconnects_ours(
    receivers, flow_client, account_factory
):
    account = account_factory("jane@example.com", password=PASSWORD)
    assert user_logged_in.disconnect(dispatch_uid="update_last_login")
    assert flow_password_login(flow_client) == "success"
    request = RequestFactory().post("/")
    request.session = SessionStore()
    login(request, account.user, backend="django.contrib.auth.backends.ModelBackend")
    account.user.refresh_from_db()
    assert account.user.last_login is None


@pytest.mark.django_db
def test_post_save_listener_on_the_user_model_hears_a_flow_login(flow_client, account_factory):
    account = account_factory("jane@example.com", password=PASSWORD)
    heard = []

    def listener(sender, instance, update_fields, **kwargs):
        heard.append((instance.pk, update_fields))

    post_save.connect(listener, sender=get_user_model())
    try:
        assert flow_password_login(flow_client) == "success"
    finally:
        post_save.disconnect(listener, sender=get_user_model())
    assert heard == [(account.user.pk, frozenset({"last_login"}))]
    account.user.refresh_from_db()
    assert account.user.last_login is not None


# --- PostgreSQL: within the session's statement ---------------------------------------------


def on_postgres(test):
    for mark in (
        pytest.mark.slow,
        pytest.mark.django_db(transaction=True),
        pytest.mark.usefixtures("postgres_only"),
    ):
        test = mark(test)
    return test


def issue_capturing(account) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        sessions.issue(account, amr=["pwd"], env=http_env(), remember_me=None)
    return [q["sql"] for q in captured.captured_queries]


def session_statement(statements: list[str]) -> str:
    (statement,) = [s for s in statements if s.startswith("WITH beyond")]
    return statement


def shape(statement: str) -> str:
    """The statement with its values (as the driver quoted them) taken out."""
    return re.sub(r"'[^']*'(::[a-z]+)?|\b\d+\b|NULL", "?", statement)


@on_postgres
def test_postgres_sign_in_writes_last_login_in_the_session_statement(account_factory):
    account = account_factory("jane@example.com", password=PASSWORD)
    statements = issue_capturing(account)
    assert user_updates(statements) == [], statements
    assert "last_login" in session_statement(statements)
    written = account.user.last_login
    assert written is not None
    account.user.refresh_from_db()
    assert account.user.last_login == written  # the instance holds what is stored


@on_postgres
def test_postgres_session_statement_has_one_shape_whatever_the_account_has(account_factory):
    fresh = account_factory("new@example.com", password=PASSWORD)
    returning = account_factory("old@example.com", password=PASSWORD)
    issue_capturing(returning)  # has a last_login and an active session now
    returning.user.refresh_from_db()
    assert shape(session_statement(issue_capturing(fresh))) == shape(
        session_statement(issue_capturing(returning))
    )


@on_postgres
def test_postgres_save_listener_gets_the_orm_save(account_factory):
    account = account_factory("jane@example.com", password=PASSWORD)
    heard = []

    def listener(sender, instance, update_fields, **kwargs):
        heard.append(update_fields)

    post_save.connect(listener, sender=get_user_model())
    try:
        statements = issue_capturing(account)
    finally:
        post_save.disconnect(listener, sender=get_user_model())
    assert "last_login" not in session_statement(statements)
    assert heard == [frozenset({"last_login"})]
    assert len(user_updates(statements)) == 1


@on_postgres
def test_postgres_without_the_receiver_the_statement_leaves_last_login(receivers, account_factory):
    account = account_factory("jane@example.com", password=PASSWORD)
    user_logged_in.disconnect(dispatch_uid="update_last_login")
    statements = issue_capturing(account)
    assert "last_login" not in session_statement(statements)
    account.user.refresh_from_db()
    assert account.user.last_login is None


@on_postgres
def test_postgres_flow_password_login_sets_last_login(flow_client, account_factory):
    account = account_factory("jane@example.com", password=PASSWORD)
    assert flow_password_login(flow_client) == "success"
    account.user.refresh_from_db()
    assert account.user.last_login is not None
