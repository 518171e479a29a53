"""The public-API response checker itself: its corrections apply and it catches bad bodies."""

from __future__ import annotations

from hankoflow.testing.openapi_public import (
    load_public_spec,
    public_response_errors,
    read_public_spec,
)

JWK = {"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig", "n": "xyz", "e": "AQAB"}
CLAIMS = {
    "subject": "c339547d-e17d-4ba7-8a1d-b3d5a4d17c1c",
    "session_id": "d339547d-e17d-4ba7-8a1d-b3d5a4d17c1c",
    "expiration": "2026-01-01T00:00:00Z",
}
VALID = {
    "is_valid": True,
    "claims": CLAIMS,
    "expiration_time": CLAIMS["expiration"],
    "user_id": CLAIMS["subject"],
}


def test_corrections_are_applied_to_a_fresh_copy():
    published = read_public_spec()
    schema = published["components"]["responses"]["ValidateSessionResponse"]["content"]
    assert schema["application/json"]["schema"]["required"] == ["isValid"]
    corrected = load_public_spec()["components"]["responses"]["ValidateSessionResponse"]
    assert corrected["content"]["application/json"]["schema"]["required"] == ["is_valid"]


def test_jwks():
    assert public_response_errors("GET", "/.well-known/jwks.json", 200, {"keys": [JWK]}) == []
    leaked = {"keys": [{**JWK, "d": "secret"}]}
    assert public_response_errors("GET", "/.well-known/jwks.json", 200, leaked)
    assert public_response_errors("GET", "/.well-known/jwks.json", 200, {"keys": [{"kty": "RSA"}]})


def test_validate_bodies():
    path = "/sessions/validate"
    assert public_response_errors("GET", path, 200, VALID) == []
    assert public_response_errors("GET", path, 200, {"is_valid": False}) == []
    assert public_response_errors("GET", path, 200, {})  # is_valid missing
    assert public_response_errors("GET", path, 200, {"is_valid": False, "claims": CLAIMS})
    assert public_response_errors("GET", path, 200, {**VALID, "user_id": "other"})
    without_claims = {k: v for k, v in VALID.items() if k != "claims"}
    assert public_response_errors("GET", path, 200, without_claims)
    bad_claims = {**VALID, "claims": {**CLAIMS, "amr": ["password"]}}
    assert public_response_errors("GET", path, 200, bad_claims)
    third_party = {**VALID, "claims": {**CLAIMS, "amr": ["ext:google", "totp"]}}
    assert public_response_errors("GET", path, 200, third_party) == []


def test_statuses_and_bodies():
    assert public_response_errors("POST", "/logout", 204, None) == []
    assert public_response_errors("POST", "/logout", 204, {"unexpected": True})
    assert (
        public_response_errors("POST", "/logout", 403, {"code": 403, "message": "Forbidden"}) == []
    )
    assert public_response_errors("GET", "/me", 403, {"code": 403, "message": "Forbidden"})
    assert public_response_errors("GET", "/me", 401, {"code": 400, "message": "Unauthorized"})
    assert public_response_errors("GET", "/nowhere", 200, {})


def test_user_objects():
    user = {
        "id": CLAIMS["subject"],
        "user_id": CLAIMS["subject"],
        "created_at": "2026-01-01T00:00:00.5Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "mfa_config": {
            "auth_app_set_up": False,
            "totp_enabled": True,
            "security_keys_enabled": True,
        },
    }
    assert public_response_errors("GET", "/me", 200, user) == []
    assert public_response_errors("GET", "/me", 200, {k: v for k, v in user.items() if k != "id"})
    path = f"/users/{CLAIMS['subject']}"
    legacy = {**user, "email": "a@example.com", "username": "a", "webauthn_credentials": []}
    assert public_response_errors("GET", path, 200, legacy) == []
    assert public_response_errors("GET", path, 200, {**legacy, "username": {"username": "a"}})
