"""services/crypto.py: encryption at rest with keys derived from SECRET_KEY (SE-04, CF-01)."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hankoflow.services import crypto

OTHER_KEY = "another-secret-key-0123456789-abcdefghijklmnop"


def test_round_trip_of_bytes_and_str():
    token = crypto.encrypt(b"\x00secret", "test")
    assert isinstance(token, str) and "secret" not in token
    assert crypto.decrypt(token, "test") == b"\x00secret"
    assert crypto.decrypt(crypto.encrypt("gehéim", "test"), "test") == "gehéim".encode()


def test_a_token_of_one_purpose_does_not_decrypt_as_another():
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(crypto.encrypt("x", "totp"), "outbox secret")


def test_secret_key_fallbacks_decrypt_and_a_changed_key_does_not(settings):
    token = crypto.encrypt("x", "test")
    old = settings.SECRET_KEY
    settings.SECRET_KEY = OTHER_KEY
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(token, "test")
    settings.SECRET_KEY_FALLBACKS = [old]
    assert crypto.decrypt(token, "test") == b"x"


@pytest.mark.parametrize("garbage", ["", "not a token", "ünïcode", b"\xff\x00"])
def test_garbage_is_an_invalid_token(garbage):
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(garbage, "test")


@pytest.mark.parametrize("purpose", ["signing keys", "outbox secret"])
def test_tokens_written_before_the_shared_helper_still_decrypt(settings, purpose):
    """jwks.py and mail.py used HKDF info ``hankoflow <purpose> v1`` before crypto.py existed."""
    info = f"hankoflow {purpose} v1".encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
        settings.SECRET_KEY.encode()
    )
    legacy = Fernet(base64.urlsafe_b64encode(key)).encrypt(b"stored earlier").decode()
    assert crypto.decrypt(legacy, purpose) == b"stored earlier"
