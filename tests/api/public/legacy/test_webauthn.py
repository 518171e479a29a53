"""``/webauthn/...`` (platform.md §3.3.5) with real ceremonies from the software authenticator."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from hankoflow.models import AuditLogEntry, Session, WebauthnCredential
from hankoflow.services import webauthn
from hankoflow.testing.openapi_public import check
from hankoflow.testing.webauthn import SoftAuthenticator

REG_INIT, REG_FINAL = "/webauthn/registration/initialize", "/webauthn/registration/finalize"
LOGIN_INIT, LOGIN_FINAL = "/webauthn/login/initialize", "/webauthn/login/finalize"


def post(client, path, body=None):
    return client.post(path, json.dumps(body or {}), content_type="application/json")


def register(client, authenticator):
    options = check(post(client, REG_INIT), "POST", REG_INIT)
    return post(client, REG_FINAL, authenticator.create(options))


def test_register_then_sign_in(legacy, signed_in_client, account_factory, soft_authenticator):
    client = signed_in_client(account_factory("jane@example.com"))
    account = client.account

    options = check(post(client, REG_INIT), "POST", REG_INIT)
    selection = options["publicKey"]["authenticatorSelection"]
    assert selection["residentKey"] == "required"
    assert "excludeCredentials" not in options["publicKey"]
    registered = post(client, REG_FINAL, soft_authenticator.create(options))
    body = check(registered, "POST", REG_FINAL)
    assert body["user_id"] == str(account.pk)
    assert WebauthnCredential.objects.filter(pk=body["credential_id"], account=account).exists()

    anonymous = Client()
    request = check(post(anonymous, LOGIN_INIT, {"user_id": str(account.pk)}), "POST", LOGIN_INIT)
    allowed = request["publicKey"]["allowCredentials"]
    assert [c["id"] for c in allowed] == [body["credential_id"]]
    assert all("transports" not in c for c in allowed)
    assertion = soft_authenticator.get(request)
    signed_in = post(anonymous, LOGIN_FINAL, assertion)
    assert check(signed_in, "POST", LOGIN_FINAL) == body
    assert signed_in["X-Session-Lifetime"] == "43200"
    assert signed_in.cookies["hanko"].value
    assert Session.objects.filter(account=account).count() == 2

    replay = post(Client(), LOGIN_FINAL, assertion)
    assert check(replay, "POST", LOGIN_FINAL)["code"] == 401
    types = set(AuditLogEntry.objects.values_list("type", flat=True))
    assert {
        "webauthn_registration_final_succeeded",
        "webauthn_authentication_final_succeeded",
        "webauthn_authentication_final_failed",
    } <= types


def test_discoverable_login(legacy, account_factory, soft_authenticator):
    account = account_factory(passkey=soft_authenticator)
    client = Client()

    request = check(post(client, LOGIN_INIT), "POST", LOGIN_INIT)

    assert "allowCredentials" not in request["publicKey"]
    response = post(client, LOGIN_FINAL, soft_authenticator.get(request))
    assert check(response, "POST", LOGIN_FINAL)["user_id"] == str(account.pk)


def test_a_flows_or_registrations_challenge_is_not_answered_here(
    legacy, account_factory, soft_authenticator
):
    account_factory(passkey=soft_authenticator)
    flow_options = webauthn.authentication_options(
        user_id=None,
        allow_credential_ids=[],
        user_verification="preferred",
        mfa=False,
        flow_id="00000000-0000-4000-8000-000000000001",
    )

    response = post(Client(), LOGIN_FINAL, soft_authenticator.get(flow_options.options))

    assert response.status_code == 401
    assert not Session.objects.exists()


def test_another_users_credential_is_refused(legacy, account_factory, soft_authenticator):
    jane = account_factory(passkey=soft_authenticator)
    other = account_factory(passkey=SoftAuthenticator(soft_authenticator.origin))
    client = Client()
    request = post(client, LOGIN_INIT, {"user_id": str(other.pk)}).json()
    request["publicKey"].pop("allowCredentials")  # a client that ignores the allowed list

    response = post(client, LOGIN_FINAL, soft_authenticator.get(request))

    assert response.status_code == 401
    assert not Session.objects.filter(account=jane).exists()


def test_expired_challenge_is_refused(legacy, account_factory, soft_authenticator, clock):
    account_factory(passkey=soft_authenticator)
    request = post(Client(), LOGIN_INIT).json()
    clock.advance(seconds=601)

    assert post(Client(), LOGIN_FINAL, soft_authenticator.get(request)).status_code == 401


def test_sign_count_regression_is_400(legacy, account_factory, soft_authenticator):
    account_factory(passkey=soft_authenticator)
    clone = soft_authenticator.clone()
    first = post(Client(), LOGIN_INIT).json()
    assert post(Client(), LOGIN_FINAL, soft_authenticator.get(first)).status_code == 200

    second = post(Client(), LOGIN_INIT).json()
    response = post(Client(), LOGIN_FINAL, clone.get(second))

    assert check(response, "POST", LOGIN_FINAL)["code"] == 400


@pytest.mark.parametrize("body", [{}, {"response": "nonsense"}, {"id": 1}])
def test_login_finalize_garbage_is_401(legacy, body, db):
    assert post(Client(), LOGIN_FINAL, body).status_code == 401


@pytest.mark.parametrize("user_id", ["not-a-uuid", "00000000-0000-4000-8000-000000000009"])
def test_login_initialize_bad_or_unknown_user_is_400(legacy, user_id, db):
    response = post(Client(), LOGIN_INIT, {"user_id": user_id})

    assert check(response, "POST", LOGIN_INIT)["code"] == 400


def test_registration_needs_a_session(legacy, db):
    assert post(Client(), REG_INIT).status_code == 401
    assert post(Client(), REG_FINAL).status_code == 401


def test_registration_answered_by_another_user_is_400(legacy, signed_in_client, soft_authenticator):
    jane, mallory = signed_in_client(), signed_in_client()
    options = post(jane, REG_INIT).json()

    response = post(mallory, REG_FINAL, soft_authenticator.create(options))

    assert check(response, "POST", REG_FINAL)["code"] == 400
    assert not WebauthnCredential.objects.exists()


def test_registration_replayed_is_400(legacy, signed_in_client, soft_authenticator):
    client = signed_in_client()
    options = post(client, REG_INIT).json()
    attestation = soft_authenticator.create(options)
    assert post(client, REG_FINAL, attestation).status_code == 200

    assert post(client, REG_FINAL, attestation).status_code == 400


def test_list_rename_and_delete(legacy, signed_in_client, account_factory, soft_authenticator):
    account = account_factory(
        "jane@example.com", password="a long password", passkey=soft_authenticator
    )
    client = signed_in_client(account)
    credential = WebauthnCredential.objects.get(account=account)
    account_factory(passkey=SoftAuthenticator(soft_authenticator.origin))  # a stranger's

    listed = check(client.get("/webauthn/credentials"), "GET", "/webauthn/credentials")
    assert [c["id"] for c in listed] == [credential.pk]

    path = f"/webauthn/credentials/{credential.pk}"
    renamed = client.patch(path, {"name": "Laptop"}, content_type="application/json")
    assert check(renamed, "PATCH", path) is None and renamed.status_code == 200
    credential.refresh_from_db()
    assert credential.name == "Laptop"
    bad = client.patch(path, {"name": ""}, content_type="application/json")
    assert bad.status_code == 400

    deleted = client.delete(path)
    # platform.md §3.3.5: 204, as Hanko's code answers (its OpenAPI document says 201).
    assert deleted.status_code == 204 and deleted.content == b""
    assert not WebauthnCredential.objects.filter(pk=credential.pk).exists()
    types = set(AuditLogEntry.objects.values_list("type", flat=True))
    assert {"webauthn_credential_updated", "webauthn_credential_deleted"} <= types


def test_another_users_credential_is_404(
    legacy, signed_in_client, account_factory, soft_authenticator
):
    stranger = account_factory(passkey=soft_authenticator)
    credential = WebauthnCredential.objects.get(account=stranger)
    client = signed_in_client()
    path = f"/webauthn/credentials/{credential.pk}"

    assert client.patch(path, {"name": "x"}, content_type="application/json").status_code == 404
    assert client.delete(path).status_code == 404
    assert WebauthnCredential.objects.filter(pk=credential.pk).exists()


def test_the_last_way_in_is_not_deleted(
    legacy, signed_in_client, account_factory, soft_authenticator
):
    account = account_factory(email=None, passkey=soft_authenticator)
    credential = WebauthnCredential.objects.get(account=account)

    response = signed_in_client(account).delete(f"/webauthn/credentials/{credential.pk}")

    assert response.status_code == 409
    assert WebauthnCredential.objects.filter(pk=credential.pk).exists()


def test_delete_after_the_reauthentication_window_is_403(
    legacy, signed_in_client, account_factory, soft_authenticator, clock
):
    account = account_factory(password="a long password", passkey=soft_authenticator)
    credential = WebauthnCredential.objects.get(account=account)
    client = signed_in_client(account)
    clock.advance(seconds=601)

    assert client.delete(f"/webauthn/credentials/{credential.pk}").status_code == 403


def test_absent_when_passkeys_are_off(legacy, signed_in_client):
    legacy(PASSKEY={"ENABLED": False})

    assert signed_in_client().get("/webauthn/credentials").status_code == 404
