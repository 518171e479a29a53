"""Forged and tampered session tokens are refused (security-checks SE-01, SE-02, SE-03).

Every token below is built with PyJWT/cryptography the way an attacker would; ``validate``
must answer None (never raise), and the HTTP endpoints 401 (or ``is_valid: false``), never 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.test import override_settings

from hankoflow.services import jwks, sessions
from tests.tokens import claims_for, now, sign, sign_raw

pytestmark = pytest.mark.django_db


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_token(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    head = b64(json.dumps(header).encode())
    body = b64(json.dumps(claims).encode())
    return f"{head}.{body}.{b64(signature)}"


def assert_refused(client, token: str) -> None:
    """Refused by the service, by /me (401) and by /sessions/validate (is_valid false)."""
    assert sessions.validate(token) is None
    response = client.get("/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401, response.content
    response = client.post(
        "/sessions/validate", {"session_token": token}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json() == {"is_valid": False}


def test_the_helpers_make_valid_tokens(client, issued):
    # Baseline: re-signing the genuine claims with our key is accepted, so each refusal below
    # is caused by the one thing that test changes.
    kid = jwks.signing_key().kid
    for token in (
        sign(claims_for(issued)),
        sign_raw({"alg": "RS256", "typ": "JWT", "kid": kid}, claims_for(issued)),
    ):
        assert sessions.validate(token) is not None
        assert client.get("/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


# --- SE-01: algorithm pinning and header trust --------------------------------------------------


def test_alg_none(client, issued):
    header = {"alg": "none", "typ": "JWT", "kid": jwks.signing_key().kid}
    assert_refused(client, raw_token(header, claims_for(issued)))
    assert_refused(client, raw_token(header, claims_for(issued)).rstrip("."))


def test_hs256_signed_with_the_public_key(client, issued):
    kid = jwks.signing_key().kid
    public_pem = (
        jwks.signing_key()
        .key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    head = b64(json.dumps(header).encode())
    body = b64(json.dumps(claims_for(issued)).encode())
    signature = hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    assert_refused(client, f"{head}.{body}.{b64(signature)}")
    # ... and with the JWK's modulus as the secret, the other classic confusion
    n = jwks.public_jwks()["keys"][0]["n"].encode()
    signature = hmac.new(n, f"{head}.{body}".encode(), hashlib.sha256).digest()
    assert_refused(client, f"{head}.{body}.{b64(signature)}")


def test_other_algorithms_even_with_our_key(client, issued):
    # PS256 and RS512 verify with the same RSA key: the algorithm is pinned, not just the key.
    for algorithm in ("PS256", "RS512", "RS384"):
        assert_refused(client, sign(claims_for(issued), algorithm=algorithm))


def test_ecdsa_token_with_our_kid(client, issued):
    attacker = ec.generate_private_key(ec.SECP256R1())
    assert_refused(client, sign(claims_for(issued), key=attacker, algorithm="ES256"))


def test_signed_by_another_rsa_key(client, issued):
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert_refused(client, sign(claims_for(issued), key=attacker))


def test_embedded_and_remote_keys_are_ignored(client, issued, monkeypatch):
    import urllib.request

    def no_network(*args, **kwargs):
        raise AssertionError("a key URL from the token header was fetched")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    attacker_jwk = jwt.algorithms.RSAAlgorithm.to_jwk(attacker.public_key(), as_dict=True)
    attacker_kid = "attacker-key"
    for extra in (
        {"jwk": attacker_jwk},
        {"jku": "https://attacker.example/jwks.json"},
        {"x5u": "https://attacker.example/cert.pem"},
        {"x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]},
    ):
        # with the attacker's own kid, and with ours
        assert_refused(
            client, sign(claims_for(issued), key=attacker, headers={"kid": attacker_kid, **extra})
        )
        assert_refused(client, sign(claims_for(issued), key=attacker, headers=extra))


def test_unknown_crit_header(client, issued):
    token = sign(claims_for(issued), headers={"crit": ["urn:example:must-understand"]})
    assert_refused(client, token)


@pytest.mark.parametrize(
    "kid",
    [
        "../../../etc/passwd",
        "' OR '1'='1",
        '"; DROP TABLE hankoflow_signing_key; --',
        "%00",
        "x" * 10_000,
        "",
        None,
        42,
        ["a"],
        {"$ne": ""},
    ],
)
def test_odd_kid_values(client, issued, kid):
    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    assert_refused(client, sign_raw(header, claims_for(issued)))


@pytest.mark.parametrize("typ", ["at+jwt", "JWS", "", None])
def test_other_token_types(client, issued, typ):
    assert_refused(client, sign(claims_for(issued), headers={"typ": typ}))


def test_webhook_style_token_signed_with_our_key(client, issued):
    # SE-03: same key, no session: Hanko's webhook tokens look like this.
    claims = {"sub": "hanko webhooks", "iat": now(), "exp": now() + 60, "aud": ["localhost"]}
    assert_refused(client, sign(claims))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c",
        "...",
        "eyJhbGciOiJSUzI1NiJ9.e30.",
        "e30.e30.e30",
        "bm90IGpzb24.bm90IGpzb24.bm90IGpzb24",
        "%%%.%%%.%%%",
        "\x00\x00.\x00.\x00",
        "é.é.é",
        "a" * 9000,
    ],
)
def test_malformed_tokens(client, token):
    assert sessions.validate(token) is None
    response = client.post(
        "/sessions/validate", {"session_token": token}, content_type="application/json"
    )
    assert response.status_code in (200, 400) and response.json().get("is_valid") in (None, False)


@pytest.mark.parametrize("value", [None, 42, b"bytes", ["a.b.c"], {"token": "x"}])
def test_non_string_tokens(value):
    assert sessions.validate(value) is None


def test_tampered_payload(client, issued):
    head, _, signature = issued.token.split(".")
    claims = claims_for(issued, sub=str(uuid.uuid4()))
    body = b64(json.dumps(claims).encode())
    assert_refused(client, f"{head}.{body}.{signature}")


def test_tampered_signature(client, issued):
    head, body, signature = issued.token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert_refused(client, f"{head}.{body}.{flipped}")


# --- SE-02: claims, one failing claim per token, signed with the real key -----------------------


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"exp": None}, "exp missing"),
        ({"exp": "tomorrow"}, "exp not a number"),
        ({"exp": -1}, "exp long past"),
        ({"iat": None}, "iat missing"),
        ({"sub": None}, "sub missing"),
        ({"session_id": None}, "session_id missing"),
        ({"aud": None}, "aud missing"),
        ({"aud": ["another-app"]}, "aud not ours"),
        ({"aud": "another-app"}, "aud string not ours"),
        ({"sub": "not-a-uuid"}, "sub not a UUID"),
        ({"sub": 42}, "sub not a string"),
        ({"session_id": "not-a-uuid"}, "session_id not a UUID"),
        ({"session_id": ["x"]}, "session_id not a string"),
    ],
)
def test_claims(client, issued, changes, why):
    assert_refused(client, sign(claims_for(issued, **changes)))


def test_expired_by_one_second(client, issued):
    assert_refused(client, sign(claims_for(issued, iat=now() - 100, exp=now() - 1)))


def test_issued_in_the_future(client, issued):
    assert_refused(client, sign(claims_for(issued, iat=now() + 3600)))


def test_not_before_in_the_future(client, issued):
    assert_refused(client, sign(claims_for(issued, nbf=now() + 3600)))


def test_unknown_session_id(client, issued):
    assert_refused(client, sign(claims_for(issued, session_id=str(uuid.uuid4()))))


def test_subject_of_another_account(client, issued, other_account):
    # A validly signed token whose session belongs to someone else.
    assert_refused(client, sign(claims_for(issued, sub=str(other_account.pk))))


def test_issuer_is_checked_when_configured(client, account):
    with override_settings(HANKOFLOW={"SESSION": {"ISSUER": "https://auth.example.com"}}):
        issued = sessions.issue(account, amr=[], env=None, remember_me=None)
        assert sessions.validate(issued.token) is not None
        assert_refused(client, sign(claims_for(issued, iss="https://evil.example")))
        assert_refused(client, sign(claims_for(issued, iss=None)))


def test_audience_change_invalidates_tokens(client, issued):
    with override_settings(HANKOFLOW={"SESSION": {"AUDIENCE": ["new-app"]}}):
        assert_refused(client, issued.token)
