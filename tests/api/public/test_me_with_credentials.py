"""``GET /me`` of a user with a passkey matches Hanko's public OpenAPI document (credential ids
are base64url, flow-api.md §7.12)."""

import uuid

import pytest

from hankoflow.services import accounts, sessions, webauthn
from hankoflow.testing.openapi_public import public_response_errors
from hankoflow.testing.webauthn import SoftAuthenticator


@pytest.mark.django_db
def test_me_lists_the_passkey_and_validates(client):
    account = accounts.create(
        uuid.uuid4(), email="a@example.com", email_verified=True, username=None, password_hash=None
    )
    device = SoftAuthenticator("http://localhost:8000")
    options = webauthn.registration_options(
        user_id=str(account.id),
        user_name="a@example.com",
        user_display_name="a@example.com",
        mfa_only=False,
        exclude_credential_ids=[],
        flow_id=None,
    )
    new = webauthn.verify_registration(
        options.challenge_id, device.create(options.options), flow_id=None
    )
    webauthn.save_credential(account, new)
    issued = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    response = client.get("/me", headers={"Authorization": f"Bearer {issued.token}"})
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["passkeys"]] == [new.id]
    assert public_response_errors("GET", "/me", 200, response.json()) == []
