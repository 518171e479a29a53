"""The API keys page: create (key shown once, on the answer only), list without secrets, revoke."""

from __future__ import annotations

import re

from django.contrib.messages import get_messages

from hankoflow.models import ApiKey
from hankoflow.services import api_keys

CHANGELIST = "/admin/hankoflow/apikey/"


def test_create_shows_the_key_once(admin_client, superuser):
    response = admin_client.post(f"{CHANGELIST}add/", {"name": "billing", "scope": "full"})
    assert response.status_code == 200
    page = response.content.decode()
    plaintext = re.search(r'value="(hfk_[A-Za-z0-9_-]+)"', page).group(1)
    key = api_keys.authenticate(plaintext)
    assert key is not None and key.scope == "full" and key.created_by == superuser.get_username()
    assert "no-store" in response["Cache-Control"]
    assert not [m for m in get_messages(response.wsgi_request) if plaintext in str(m)]
    listing = admin_client.get(CHANGELIST).content.decode()
    assert key.prefix in listing and plaintext not in listing and key.key_hash not in listing
    detail = admin_client.get(f"{CHANGELIST}{key.pk}/change/").content.decode()
    assert key.key_hash not in detail and plaintext not in detail


def test_revoke_action(admin_client):
    new = api_keys.create("old")
    response = admin_client.post(
        CHANGELIST, {"action": "revoke", "_selected_action": [str(new.key.pk)]}, follow=True
    )
    assert response.status_code == 200
    assert api_keys.authenticate(new.plaintext) is None
    assert ApiKey.objects.filter(pk=new.key.pk).exists()  # kept, for the audit trail


def test_keys_cannot_be_deleted_or_edited(admin_client):
    new = api_keys.create("kept", scope="read")
    assert admin_client.get(f"{CHANGELIST}{new.key.pk}/delete/").status_code == 403
    admin_client.post(f"{CHANGELIST}{new.key.pk}/change/", {"name": "renamed", "scope": "full"})
    new.key.refresh_from_db()
    assert (new.key.name, new.key.scope) == ("kept", "read")


def test_a_viewer_sees_but_cannot_create(viewer_client):
    api_keys.create("seen")
    assert viewer_client.get(CHANGELIST).status_code == 200
    assert viewer_client.get(f"{CHANGELIST}add/").status_code == 403
