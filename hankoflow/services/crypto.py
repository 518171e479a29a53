"""Encryption at rest for secrets we must be able to read back (security-checks SE-04, CF-01).

``encrypt()`` returns a Fernet token (AES-128-CBC + HMAC-SHA256) whose key is derived from
Django's ``SECRET_KEY`` with HKDF-SHA256; ``decrypt()`` also tries every key of
``SECRET_KEY_FALLBACKS``, so a ``SECRET_KEY`` rotation done the Django way keeps stored secrets
readable. ``purpose`` separates the keys of different uses (HKDF ``info`` =
``hankoflow <purpose> v1``): a token made for one purpose never decrypts as another.

Purposes in use: ``"signing keys"`` (services/jwks/keypairs.py), ``"outbox secret"``
(services/mail/encryption.py), ``"totp"`` (services/totp.py). ``mac_keys()`` derives raw keys
the same way for MACs: ``"flow start"`` (the start tokens of ``engine.unstored_start``).
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings as django_settings

__all__ = ["InvalidToken", "decrypt", "encrypt", "mac_keys"]


def encrypt(data: bytes | str, purpose: str) -> str:
    """A Fernet token (ASCII) of ``data`` (a ``str`` is UTF-8 encoded) under the current key."""
    raw = data.encode() if isinstance(data, str) else data
    return _fernet(purpose).encrypt(raw).decode("ascii")


def decrypt(token: str | bytes, purpose: str) -> bytes:
    """The plaintext of ``token``; ``InvalidToken`` when no configured secret key decrypts it."""
    try:
        raw = token.encode("ascii") if isinstance(token, str) else token
    except UnicodeEncodeError:
        raise InvalidToken from None
    return _fernet(purpose).decrypt(raw)


def mac_keys(purpose: str) -> tuple[bytes, ...]:
    """32-byte keys for a MAC: the current ``SECRET_KEY``'s first, then the fallbacks'."""
    return tuple(_raw_key(secret, purpose) for secret in _secrets())


def _secrets() -> list[str | bytes]:
    return [django_settings.SECRET_KEY, *getattr(django_settings, "SECRET_KEY_FALLBACKS", [])]


def _fernet(purpose: str) -> MultiFernet:
    """The current ``SECRET_KEY`` encrypts; it and ``SECRET_KEY_FALLBACKS`` decrypt."""
    return MultiFernet([Fernet(_derive_key(secret, purpose)) for secret in _secrets()])


@functools.lru_cache(maxsize=32)
def _derive_key(secret: str | bytes, purpose: str) -> bytes:
    return base64.urlsafe_b64encode(_raw_key(secret, purpose))


@functools.lru_cache(maxsize=32)
def _raw_key(secret: str | bytes, purpose: str) -> bytes:
    raw = secret.encode() if isinstance(secret, str) else secret
    info = f"hankoflow {purpose} v1".encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(raw)
