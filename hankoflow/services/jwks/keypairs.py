"""RSA key pairs for session JWTs: generating one, the private half encrypted at rest, the public
half as a JWK (and back)."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from hankoflow.services import crypto

ALGORITHM = "RS256"
KEY_SIZE = 2048
PUBLIC_EXPONENT = 65537
# services/crypto.py purpose (HKDF info "hankoflow signing keys v1").
_CRYPTO_PURPOSE = "signing keys"


def generate_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=KEY_SIZE)


# --- encryption at rest ------------------------------------------------------------------------


def encrypt_private_key(key: rsa.RSAPrivateKey) -> str:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return crypto.encrypt(pem, _CRYPTO_PURPOSE)


def decrypt_private_key(token: str) -> rsa.RSAPrivateKey:
    """The private key of a row; InvalidToken when no configured secret decrypts it."""
    pem = crypto.decrypt(token, _CRYPTO_PURPOSE)
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidToken
    return key


# --- JWK encoding ------------------------------------------------------------------------------


def _b64_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _uint_b64(text: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def public_jwk(kid: str, key: rsa.RSAPublicKey) -> dict[str, str]:
    numbers = key.public_numbers()
    return {
        "kty": "RSA",
        "kid": kid,
        "alg": ALGORITHM,
        "use": "sig",
        "n": _b64_uint(numbers.n),
        "e": _b64_uint(numbers.e),
    }


def public_key_from_jwk(jwk: dict[str, Any]) -> rsa.RSAPublicKey:
    return rsa.RSAPublicNumbers(_uint_b64(jwk["e"]), _uint_b64(jwk["n"])).public_key()


def public_members(jwk: dict[str, Any]) -> dict[str, Any]:
    """Only the public RSA members of a stored JWK."""
    # Defence in depth: whatever is stored, only public RSA members ever leave (SE-04).
    return {name: jwk[name] for name in ("kty", "kid", "alg", "use", "n", "e") if name in jwk}
