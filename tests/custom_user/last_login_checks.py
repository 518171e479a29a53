"""``last_login`` with the custom user models, run only under tests/custom_user/settings*.py (by
test_custom_user_model.py): a sign-in stores it (on PostgreSQL within the session's statement)
and Django's own login does too.

Not collected by the default suite (the name does not start with ``test_``).
"""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model, login
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from hankoflow.http.request import RequestEnv
from hankoflow.services import accounts, sessions

pytestmark = pytest.mark.django_db

User = get_user_model()


def test_a_sign_in_stores_last_login():
    account = accounts.create(
        uuid.uuid4(),
        email="jane@example.com",
        email_verified=True,
        username=None,
        password_hash=None,
    )
    env = RequestEnv(RequestFactory().post("/login"), "", "", "")
    with CaptureQueriesContext(connection) as captured:
        sessions.issue(account, amr=["pwd"], env=env, remember_me=None)
    written = account.user.last_login
    assert written is not None
    assert User.objects.get(pk=account.user.pk).last_login == written
    if connection.vendor == "postgresql":  # set by the session's statement, no UPDATE of its own
        updates = [
            q["sql"]
            for q in captured.captured_queries
            if q["sql"].startswith("UPDATE") and User._meta.db_table in q["sql"]
        ]
        assert updates == []


def test_django_login_stores_last_login():
    account = accounts.create(
        uuid.uuid4(),
        email="joe@example.com",
        email_verified=True,
        username=None,
        password_hash=None,
    )
    request = RequestFactory().post("/")
    request.session = SessionStore()
    login(request, account.user, backend="django.contrib.auth.backends.ModelBackend")
    assert User.objects.get(pk=account.user.pk).last_login == account.user.last_login
    assert account.user.last_login is not None
