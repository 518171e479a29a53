"""The user admin under custom user models; run by test_custom_user_admin.py in a subprocess.

Not collected by the default suite (the name does not start with ``test_``). The custom models
have no ``is_staff``, so the admin is driven with a stand-in staff member.
"""

from __future__ import annotations

import uuid

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.test import RequestFactory

from hankoflow.admin.users import HankoflowUserAdminMixin
from hankoflow.models import AuditLogEntry, Session
from hankoflow.services import accounts, sessions

pytestmark = pytest.mark.django_db

User = get_user_model()


class Staff:
    """Enough of a superuser for the admin's views and the staff audit details."""

    pk = 0
    is_active = is_staff = is_superuser = is_authenticated = True
    is_anonymous = False

    def has_perm(self, perm, obj=None):
        return True

    def has_perms(self, perms, obj=None):
        return True

    def has_module_perms(self, app_label):
        return True

    def get_username(self):
        return "stand-in"

    get_short_name = get_full_name = get_username


def request(method: str = "get", data=None):
    factory = RequestFactory()
    req = getattr(factory, method)("/admin/", data or {})
    req.user = Staff()
    req.session = SessionStore()
    req._messages = FallbackStorage(req)
    return req


def user_admin():
    return admin.site._registry[User]


def test_the_user_model_admin_is_wrapped():
    assert isinstance(user_admin(), HankoflowUserAdminMixin)


def test_search_by_email_and_hanko_id():
    account = accounts.create(
        uuid.uuid4(),
        email="eve@example.com",
        email_verified=True,
        username=None,
        password_hash=None,
    )
    accounts.create(
        uuid.uuid4(),
        email="mallory@example.com",
        email_verified=True,
        username=None,
        password_hash=None,
    )
    model_admin = user_admin()
    for term in ["eve@example", str(account.pk)]:
        found, _ = model_admin.get_search_results(request(), User.objects.all(), term)
        assert list(found) == [account.user]


def test_change_page_and_revoke_action():
    account = accounts.create(
        uuid.uuid4(),
        email="eve@example.com",
        email_verified=True,
        username=None,
        password_hash=None,
    )
    sessions.issue(account, amr=["otp"], env=None, remember_me=None)
    model_admin = user_admin()
    response = model_admin.change_view(request(), str(account.user.pk))
    response.render()
    assert "eve@example.com (primary): verified" in response.content.decode()
    model_admin.revoke_all_sessions(request("post"), User.objects.filter(pk=account.user.pk))
    assert not Session.objects.filter(account=account).exists()
    entry = AuditLogEntry.objects.get(actor_user_id=account.pk, type="user_logged_out")
    assert entry.details["staff_username"] == "stand-in"
