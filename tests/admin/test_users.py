"""The project's user admin with the Hanko account: what it shows, its search, its actions."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.dispatch import receiver

from hankoflow import signals
from hankoflow.models import Account, AuditLogEntry, OTPSecret, Session, WebauthnCredential
from hankoflow.services import audit
from tests.admin.conftest import session_count

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/auth/user/"


def change_url(account: Account) -> str:
    return f"{CHANGELIST}{account.user.pk}/change/"


def run_action(client, action: str, *users, follow: bool = True):
    return client.post(
        CHANGELIST,
        {"action": action, ACTION_CHECKBOX_NAME: [str(u.pk) for u in users]},
        follow=follow,
    )


def staff_entries(superuser, action: str) -> list[AuditLogEntry]:
    return [
        e
        for e in AuditLogEntry.objects.order_by("created_at")
        if (e.details or {}).get("admin_action") == action
        and (e.details or {}).get("staff_user") == superuser.pk
        and (e.details or {}).get("staff_username") == superuser.get_username()
    ]


def test_change_page_shows_the_account_and_no_secrets(admin_client, full_account):
    page = admin_client.get(change_url(full_account)).content.decode()
    assert str(full_account.pk) in page
    assert "carol@example.com (primary): verified" in page
    assert "carol" in page
    assert "Laptop" in page and "YubiKey" in page
    assert "set up " in page  # TOTP
    assert "Trusted devices:" in page
    assert "this user&#x27;s trail" in page or "this user's trail" in page
    assert f"?actor_user_id={full_account.pk}" in page
    assert f"/admin/hankoflow/flow/?user__id__exact={full_account.user_id}" in page
    credential = WebauthnCredential.objects.filter(account=full_account).first()
    assert credential.public_key not in page
    assert OTPSecret.objects.get(account=full_account).secret_encrypted not in page
    assert full_account.user.password not in page  # the hash itself; Django shows a summary


def test_change_page_active_sessions_and_last_login_method(admin_client, full_account):
    page = admin_client.get(change_url(full_account)).content.decode()
    assert f"account__id__exact={full_account.pk}" in page
    after = page[page.index("Last login method:") :]
    assert "password (" in after[:200]  # from the audit log


def test_changelist_lists_hanko_id_and_primary_email(admin_client, full_account):
    page = admin_client.get(CHANGELIST).content.decode()
    assert str(full_account.pk) in page
    assert "carol@example.com" in page


@pytest.mark.parametrize("term", ["second@example.com", "SECOND@example", "hanko-id"])
def test_search_by_any_email_and_hanko_id(admin_client, full_account, account_factory, term):
    from hankoflow.services import accounts

    accounts.add_email(full_account, "second@example.com", verified=False)
    account_factory("someone-else@example.com")
    if term == "hanko-id":
        term = str(full_account.pk)
    response = admin_client.get(CHANGELIST, {"q": term})
    users = list(response.context["cl"].result_list)
    assert users == [full_account.user]


def test_search_still_uses_the_user_admin_fields(admin_client, full_account):
    response = admin_client.get(CHANGELIST, {"q": full_account.user.get_username()})
    assert full_account.user in list(response.context["cl"].result_list)


def test_revoke_all_sessions_action(admin_client, superuser, full_account):
    revoked = []

    @receiver(signals.session_revoked)
    def on_revoked(sender, session, account, reason, **kwargs):
        revoked.append((session.pk, reason))

    try:
        response = run_action(admin_client, "revoke_all_sessions", full_account.user)
    finally:
        signals.session_revoked.disconnect(on_revoked)
    assert response.status_code == 200
    assert session_count(full_account) == 0
    assert len(revoked) == 2 and {r for _, r in revoked} == {signals.REASON_REVOKED}
    [entry] = staff_entries(superuser, "revoke_sessions")
    assert entry.type == audit.USER_LOGGED_OUT
    assert entry.actor_user_id == full_account.pk
    assert entry.details["trusted_devices"] == 1


def test_remove_second_factor_action(admin_client, superuser, full_account):
    removed = []

    @receiver(signals.credential_removed)
    def on_removed(sender, account, kind, credential_id, **kwargs):
        removed.append(kind)

    try:
        run_action(admin_client, "remove_second_factor", full_account.user)
    finally:
        signals.credential_removed.disconnect(on_removed)
    assert sorted(removed) == ["security_key", "totp"]
    assert not OTPSecret.objects.filter(account=full_account).exists()
    assert list(WebauthnCredential.objects.filter(account=full_account)) != []  # passkey kept
    assert not WebauthnCredential.objects.filter(account=full_account, mfa_only=True).exists()
    entries = staff_entries(superuser, "remove_second_factor") + staff_entries(
        superuser, "remove_credential"
    )
    assert sorted(e.details["kind"] for e in entries) == ["security_key", "totp"]
    assert {e.type for e in entries} == {audit.PASSKEY_DELETED}


def test_deactivate_action(admin_client, superuser, full_account):
    run_action(admin_client, "deactivate_users", full_account.user)
    full_account.user.refresh_from_db()
    assert full_account.user.is_active is False
    assert session_count(full_account) == 0
    assert len(staff_entries(superuser, "deactivate")) == 1


def test_deactivate_without_sessions_is_audited_too(admin_client, superuser, account_factory):
    account = account_factory("quiet@example.com")
    run_action(admin_client, "deactivate_users", account.user)
    assert [e.type for e in staff_entries(superuser, "deactivate")] == [audit.USER_LOGGED_OUT]


def test_delete_through_the_admin_revokes_and_audits(admin_client, superuser, full_account):
    revoked = []

    @receiver(signals.session_revoked)
    def on_revoked(sender, session, **kwargs):
        revoked.append(session.pk)

    user_pk, account_pk = full_account.user.pk, full_account.pk
    try:
        response = admin_client.post(f"{CHANGELIST}{user_pk}/delete/", {"post": "yes"}, follow=True)
    finally:
        signals.session_revoked.disconnect(on_revoked)
    assert response.status_code == 200
    assert not get_user_model().objects.filter(pk=user_pk).exists()
    assert not Account.objects.filter(pk=account_pk).exists()
    assert len(revoked) == 2
    deleted = staff_entries(superuser, "delete")
    assert audit.USER_DELETED in [e.type for e in deleted]
    assert all(e.actor_user_id == account_pk for e in deleted)  # the trail survives


def test_delete_selected_goes_through_the_service(admin_client, superuser, full_account):
    run_action(admin_client, "delete_selected", full_account.user, follow=False)
    admin_client.post(
        CHANGELIST,
        {"action": "delete_selected", "post": "yes", ACTION_CHECKBOX_NAME: [full_account.user.pk]},
    )
    assert not Session.objects.exists()
    assert audit.USER_DELETED in [e.type for e in staff_entries(superuser, "delete")]


def test_a_user_without_account_still_opens(admin_client, superuser):
    assert admin_client.get(f"{CHANGELIST}{superuser.pk}/change/").status_code == 200
    assert admin_client.get(CHANGELIST, {"q": "root"}).status_code == 200
