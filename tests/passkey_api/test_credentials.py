"""Register and login endpoints of the Passkey API, with real ceremonies."""

from __future__ import annotations

import uuid
from typing import Any

import jwt
import pytest

from hankoflow.models import Account, AuditLogEntry, WebauthnCredential
from hankoflow.services import api_keys, audit, passkey_api
from hankoflow.testing.webauthn import SoftAuthenticator
from tests.passkey_api.conftest import Api


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


# --- registration -------------------------------------------------------------------------------


def test_register_gives_the_host_user_an_account_and_a_passkey(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    token = api.register(host_user, soft_authenticator)

    account = Account.objects.get(user=host_user)
    credential = WebauthnCredential.objects.get(account=account)
    assert not credential.mfa_only
    found = passkey_api.verify_token(token)
    assert found["sub"] == str(host_user.pk)
    assert found["cred"] == credential.pk
    assert found["ceremony"] == passkey_api.REGISTRATION
    assert jwt.get_unverified_header(token)["typ"] == "passkey+jwt"
    assert AuditLogEntry.objects.filter(type=audit.PASSKEY_CREATED, actor_user_id=account.pk)


def test_register_initialize_answers_creation_options(api: Api, host_user: Any) -> None:
    answer = api.post(
        "/credentials/register/initialize",
        {"user_id": str(host_user.pk), "username": "jo", "display_name": "Jo Doe"},
    )
    public_key = answer.json()["publicKey"]
    assert public_key["user"]["name"] == "jo"
    assert public_key["user"]["displayName"] == "Jo Doe"
    assert public_key["authenticatorSelection"]["residentKey"] == "required"


def test_a_second_registration_excludes_the_first_credential(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    api.register(host_user, soft_authenticator)
    options = api.post(
        "/credentials/register/initialize", {"user_id": str(host_user.pk), "username": "jo"}
    ).json()
    excluded = [c["id"] for c in options["publicKey"]["excludeCredentials"]]
    assert excluded == [next(iter(soft_authenticator.credentials.values())).id_b64]


@pytest.mark.parametrize(
    "key", [None, "hfk_not-a-key", "wrong"], ids=["missing", "unknown", "malformed"]
)
def test_register_needs_the_api_key(api: Api, host_user: Any, key: str | None) -> None:
    body = {"user_id": str(host_user.pk), "username": "jo"}
    for path in ("/credentials/register/initialize", "/credentials/mfa/register/initialize"):
        answer = api.post(path, body, key=key if key else False)
        assert answer.status_code == 401
        assert answer.json()["code"] == 401
    assert not Account.objects.filter(user=host_user).exists()


def test_register_refuses_a_revoked_or_read_only_key(api: Api, host_user: Any) -> None:
    body = {"user_id": str(host_user.pk), "username": "jo"}
    read = api_keys.create("read", scope=api_keys.READ).plaintext
    assert api.post("/credentials/register/initialize", body, key=read).status_code == 403
    revoked = api_keys.create("gone", scope=api_keys.FULL)
    api_keys.revoke(revoked.key)
    answer = api.post("/credentials/register/initialize", body, key=revoked.plaintext)
    assert answer.status_code == 401


def test_register_finalize_needs_the_api_key(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    options = api.post(
        "/credentials/register/initialize", {"user_id": str(host_user.pk), "username": "jo"}
    ).json()
    answer = api.post(
        "/credentials/register/finalize", soft_authenticator.create(options), key=False
    )
    assert answer.status_code == 401
    assert not WebauthnCredential.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"username": "jo"},
        {"user_id": "", "username": "jo"},
        {"user_id": 7, "username": "jo"},
        {"user_id": "1", "username": ""},
        {"user_id": "1", "username": "x" * 129},
        {"user_id": "1", "username": "jo", "display_name": 5},
    ],
)
def test_register_initialize_refuses_bad_input(api: Api, host_user: Any, body: dict) -> None:
    answer = api.post("/credentials/register/initialize", body)
    assert answer.status_code == 400
    assert set(answer.json()) == {"code", "message"}


@pytest.mark.parametrize("user_id", ["999999", "not-a-number", str(uuid.uuid4())])
def test_register_initialize_of_an_unknown_user_is_404(api: Api, user_id: str) -> None:
    answer = api.post("/credentials/register/initialize", {"user_id": user_id, "username": "jo"})
    assert answer.status_code == 404
    assert answer.json() == {"code": 404, "message": "user not found"}


def test_bad_json_is_400_not_500(api: Api) -> None:
    answer = api.client.post(
        "/passkeys/credentials/register/initialize",
        "{nope",
        content_type="application/json",
        headers={"apiKey": api.key},
    )
    assert answer.status_code == 400
    answer = api.post("/credentials/login/finalize", ["a list"], key=False)
    assert answer.status_code == 400


def test_register_finalize_is_single_use(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    options = api.post(
        "/credentials/register/initialize", {"user_id": str(host_user.pk), "username": "jo"}
    ).json()
    created = soft_authenticator.create(options)
    assert api.post("/credentials/register/finalize", created).status_code == 200
    replay = api.post("/credentials/register/finalize", created)
    assert replay.status_code == 400
    assert WebauthnCredential.objects.count() == 1


def test_register_finalize_refuses_an_expired_challenge(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator, clock: Any
) -> None:
    options = api.post(
        "/credentials/register/initialize", {"user_id": str(host_user.pk), "username": "jo"}
    ).json()
    created = soft_authenticator.create(options)
    clock.advance(minutes=30)
    answer = api.post("/credentials/register/finalize", created)
    assert answer.status_code == 400
    assert "expired" in answer.json()["message"]
    assert not WebauthnCredential.objects.exists()


def test_register_finalize_refuses_an_unknown_challenge(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    options = api.post(
        "/credentials/register/initialize", {"user_id": str(host_user.pk), "username": "jo"}
    ).json()
    created = soft_authenticator.create(options, challenge=b"\x01" * 32)
    assert api.post("/credentials/register/finalize", created).status_code == 400
    assert api.post("/credentials/register/finalize", {"response": {}}).status_code == 400


def test_a_login_challenge_does_not_register(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    login = api.login_options()
    created = soft_authenticator.create(
        {"publicKey": {"rp": {"id": "localhost"}, "user": {"id": "AAAA"}}},
        challenge=login["publicKey"]["challenge"],
    )
    assert api.post("/credentials/register/finalize", created).status_code == 400


# --- login --------------------------------------------------------------------------------------


def test_discoverable_login_answers_a_token_of_the_host_user(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    api.register(host_user, soft_authenticator)
    options = api.login_options()
    assert "allowCredentials" not in options["publicKey"]

    answer = api.post("/credentials/login/finalize", soft_authenticator.get(options), key=False)

    assert answer.status_code == 200
    token = answer.json()["token"]
    found = passkey_api.verify_token(token)
    assert found["sub"] == str(host_user.pk)
    assert found["ceremony"] == passkey_api.LOGIN
    assert passkey_api.redeem_login(token) == host_user
    account = Account.objects.get(user=host_user)
    entry = AuditLogEntry.objects.get(type=audit.LOGIN_SUCCESS, actor_user_id=account.pk)
    assert entry.details["api"] == "passkey"


def test_login_with_a_user_id_allows_that_users_passkeys(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    api.register(host_user, soft_authenticator)
    options = api.login_options(host_user)
    allowed = [c["id"] for c in options["publicKey"]["allowCredentials"]]
    assert allowed == [next(iter(soft_authenticator.credentials.values())).id_b64]
    answer = api.post("/credentials/login/finalize", soft_authenticator.get(options), key=False)
    assert answer.status_code == 200


def test_login_of_another_users_passkey_is_refused(
    api: Api, host_user: Any, other_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    api.register(host_user, soft_authenticator)
    theirs = SoftAuthenticator(soft_authenticator.origin, soft_authenticator.rp_id)
    api.register(other_user, theirs)
    options = api.login_options(host_user)
    # other_user's authenticator answers host_user's ceremony with its own credential.
    forged = theirs.get({"publicKey": {**options["publicKey"], "allowCredentials": []}})
    answer = api.post("/credentials/login/finalize", forged, key=False)
    assert answer.status_code == 400
    assert AuditLogEntry.objects.filter(type=audit.LOGIN_FAILURE).exists()


def test_login_finalize_is_single_use(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    api.register(host_user, soft_authenticator)
    assertion = soft_authenticator.get(api.login_options())
    assert api.post("/credentials/login/finalize", assertion, key=False).status_code == 200
    assert api.post("/credentials/login/finalize", assertion, key=False).status_code == 400


def test_a_failed_attempt_uses_the_challenge_up(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    api.register(host_user, soft_authenticator)
    options = api.login_options()
    bad = soft_authenticator.get(options, corrupt_signature=True)
    assert api.post("/credentials/login/finalize", bad, key=False).status_code == 400
    good = soft_authenticator.get(options)
    assert api.post("/credentials/login/finalize", good, key=False).status_code == 400


def test_login_finalize_refuses_an_expired_challenge(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator, clock: Any
) -> None:
    api.register(host_user, soft_authenticator)
    options = api.login_options()
    clock.advance(minutes=30)
    answer = api.post("/credentials/login/finalize", soft_authenticator.get(options), key=False)
    assert answer.status_code == 400


@pytest.mark.parametrize("user_id", ["424242", "abc"])
def test_login_initialize_of_an_unknown_user_is_404(api: Api, user_id: str) -> None:
    answer = api.post("/credentials/login/initialize", {"user_id": user_id}, key=False)
    assert answer.status_code == 404


def test_login_initialize_of_a_user_without_passkeys_is_404(api: Api, host_user: Any) -> None:
    answer = api.post("/credentials/login/initialize", {"user_id": str(host_user.pk)}, key=False)
    assert answer.status_code == 404


def test_login_finalize_of_an_unknown_credential_is_refused(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    api.register(host_user, soft_authenticator)
    stranger = SoftAuthenticator(soft_authenticator.origin, soft_authenticator.rp_id)
    stranger.create(
        {"publicKey": {"rp": {"id": "localhost"}, "user": {"id": "AAAA"}, "challenge": "AAAA"}}
    )
    options = api.login_options()
    answer = api.post("/credentials/login/finalize", stranger.get(options), key=False)
    assert answer.status_code == 400
    assert answer.json()["message"] == "unknown credential"


# --- MFA ----------------------------------------------------------------------------------------


def test_mfa_register_and_login_with_a_security_key(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    token = api.register(host_user, soft_authenticator, mfa=True)
    assert passkey_api.verify_token(token)["ceremony"] == passkey_api.MFA_REGISTRATION
    assert WebauthnCredential.objects.get().mfa_only

    options = api.login_options(host_user, mfa=True)
    answer = api.post("/credentials/mfa/login/finalize", soft_authenticator.get(options), key=False)
    assert answer.status_code == 200
    found = passkey_api.verify_token(answer.json()["token"])
    assert found["ceremony"] == passkey_api.MFA_LOGIN
    # An MFA token is not a sign-in: the backend refuses it.
    with pytest.raises(passkey_api.TokenInvalid):
        passkey_api.redeem_login(answer.json()["token"])


def test_a_security_key_is_no_first_factor(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    api.register(host_user, soft_authenticator, mfa=True)
    options = api.login_options()
    answer = api.post("/credentials/login/finalize", soft_authenticator.get(options), key=False)
    assert answer.status_code == 400


def test_mfa_login_needs_a_user_with_a_security_key(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    assert api.post("/credentials/mfa/login/initialize", {}, key=False).status_code == 400
    api.register(host_user, soft_authenticator)  # a passkey only
    answer = api.post(
        "/credentials/mfa/login/initialize", {"user_id": str(host_user.pk)}, key=False
    )
    assert answer.status_code == 400


def test_a_login_challenge_is_not_an_mfa_challenge(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    api.register(host_user, soft_authenticator, mfa=True)
    options = api.login_options(host_user, mfa=True)
    assertion = soft_authenticator.get(options)
    assert api.post("/credentials/login/finalize", assertion, key=False).status_code == 400


# --- tenancy ------------------------------------------------------------------------------------


def test_tenant_routes_answer_for_the_configured_tenant_only(
    api: Api, host_user: Any, settings: Any
) -> None:
    tenant = str(uuid.uuid4())
    body = {"user_id": str(host_user.pk), "username": "jo"}
    assert api.post(f"/{tenant}/credentials/register/initialize", body).status_code == 404
    settings.HANKOFLOW = {
        **getattr(settings, "HANKOFLOW", {}),
        "PASSKEY_API": {"TENANT_ID": tenant},
    }
    assert api.post(f"/{tenant}/credentials/register/initialize", body).status_code == 200
    other = str(uuid.uuid4())
    assert api.post(f"/{other}/credentials/register/initialize", body).status_code == 404


def test_get_is_not_allowed(api: Api) -> None:
    assert api.client.get("/passkeys/credentials/login/initialize").status_code == 405


def test_a_passkey_token_is_no_session_token(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    api.register(host_user, soft_authenticator)
    assertion = soft_authenticator.get(api.login_options())
    token = api.post("/credentials/login/finalize", assertion, key=False).json()["token"]
    answer = api.client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401


def test_a_passkey_from_this_api_is_the_accounts_credential_for_the_flows(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    api.register(host_user, soft_authenticator)
    account = Account.objects.get(user=host_user)
    credential = WebauthnCredential.objects.get()
    assert credential.account == account
    assert next(iter(soft_authenticator.credentials.values())).user_handle == account.pk.bytes


def test_a_flows_challenge_is_not_accepted_here(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    from hankoflow.services import webauthn

    api.register(host_user, soft_authenticator)
    flow_options = webauthn.authentication_options(
        user_id=None,
        allow_credential_ids=None,
        user_verification="preferred",
        mfa=False,
        flow_id=str(uuid.uuid4()),
    )
    assertion = soft_authenticator.get(flow_options.options)
    answer = api.post("/credentials/login/finalize", assertion, key=False)
    assert answer.status_code == 400
    assert answer.json()["message"] == "unknown challenge"
