"""``GET /me`` of a user with a passkey matches Hanko's public OpenAPI document (credential ids
are base64url, flow-api.md §7.12)."""

import pytest

from hankoflow.models import WebauthnCredential
from hankoflow.services import sessions
from hankoflow.testing.openapi_public import public_response_errors
from hankoflow.testing.webauthn import SoftAuthenticator


@pytest.mark.django_db
def test_me_lists_the_passkey_and_validates(client, account_factory):
    account = account_factory("a@example.com", passkey=SoftAuthenticator("http://localhost:8000"))
    new = WebauthnCredential.objects.get(account=account)
    issued = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    response = client.get("/me", headers={"Authorization": f"Bearer {issued.token}"})
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["passkeys"]] == [new.id]
    assert public_response_errors("GET", "/me", 200, response.json()) == []
