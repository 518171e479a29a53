"""A staff member with only the view permissions sees everything and can change nothing."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from hankoflow.models import OTPSecret, OutboxEmail, Session, SigningKey, WebauthnCredential
from hankoflow.services import jwks
from hankoflow.services import mail as mail_service

pytestmark = pytest.mark.django_db

PAGES = [
    "/admin/auth/user/",
    "/admin/hankoflow/auditlogentry/",
    "/admin/hankoflow/session/",
    "/admin/hankoflow/outboxemail/",
    "/admin/hankoflow/signingkey/",
    "/admin/hankoflow/webauthncredential/",
    "/admin/hankoflow/otpsecret/",
]

DESTRUCTIVE = {
    "/admin/auth/user/": [
        "revoke_all_sessions",
        "remove_second_factor",
        "deactivate_users",
        "delete_selected",
    ],
    "/admin/hankoflow/session/": ["revoke_sessions", "delete_selected"],
    "/admin/hankoflow/outboxemail/": ["resend", "delete_selected"],
    "/admin/hankoflow/signingkey/": ["rotate", "retire", "delete_selected"],
    "/admin/hankoflow/webauthncredential/": ["delete_selected"],
    "/admin/hankoflow/otpsecret/": ["delete_selected"],
}


@pytest.fixture
def everything(full_account):
    jwks.signing_key_row()
    mail_service.queue(
        "email_registration_attempted", to="dan@example.com", language="en", context={}
    )
    return full_account


@pytest.mark.parametrize("url", PAGES)
def test_view_only_staff_sees_every_page(viewer_client, everything, url):
    response = viewer_client.get(url)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) >= 1
    form = response.context["action_form"]  # None when no action is left at all
    offered = {name for name, _ in form.fields["action"].choices} if form else set()
    assert not offered & set(DESTRUCTIVE.get(url, []))


def rows(url: str, account) -> list[str]:
    return {
        "/admin/auth/user/": [account.user.pk],
        "/admin/hankoflow/session/": list(Session.objects.values_list("pk", flat=True)),
        "/admin/hankoflow/outboxemail/": list(OutboxEmail.objects.values_list("pk", flat=True)),
        "/admin/hankoflow/signingkey/": list(SigningKey.objects.values_list("pk", flat=True)),
        "/admin/hankoflow/webauthncredential/": list(
            WebauthnCredential.objects.values_list("pk", flat=True)
        ),
        "/admin/hankoflow/otpsecret/": list(OTPSecret.objects.values_list("pk", flat=True)),
    }[url]


@pytest.mark.parametrize(
    ("url", "action"), [(url, action) for url, actions in DESTRUCTIVE.items() for action in actions]
)
def test_view_only_staff_cannot_run_destructive_actions(viewer_client, everything, url, action):
    before = {
        "sessions": Session.objects.count(),
        "credentials": WebauthnCredential.objects.count(),
        "totp": OTPSecret.objects.count(),
        "keys": list(SigningKey.objects.values_list("pk", "retired_at")),
        "outbox": list(OutboxEmail.objects.values_list("pk", "status")),
    }
    pks = [str(pk) for pk in rows(url, everything)]
    viewer_client.post(url, {"action": action, "post": "yes", ACTION_CHECKBOX_NAME: pks})
    everything.user.refresh_from_db()
    assert everything.user.is_active
    assert before == {
        "sessions": Session.objects.count(),
        "credentials": WebauthnCredential.objects.count(),
        "totp": OTPSecret.objects.count(),
        "keys": list(SigningKey.objects.values_list("pk", "retired_at")),
        "outbox": list(OutboxEmail.objects.values_list("pk", "status")),
    }


def test_view_only_staff_cannot_delete_nor_edit_a_user(viewer_client, everything):
    url = f"/admin/auth/user/{everything.user.pk}/"
    assert viewer_client.post(f"{url}delete/", {"post": "yes"}).status_code == 403
    page = viewer_client.get(f"{url}change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert str(everything.pk).encode() in page.content  # the Hanko account is shown


def test_view_only_staff_cannot_delete_a_credential(viewer_client, everything):
    credential = WebauthnCredential.objects.first()
    url = f"/admin/hankoflow/webauthncredential/{credential.pk}/delete/"
    assert viewer_client.post(url, {"post": "yes"}).status_code == 403
    assert WebauthnCredential.objects.filter(pk=credential.pk).exists()
