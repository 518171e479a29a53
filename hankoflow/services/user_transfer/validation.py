"""Checking one row of a user file: its keys, emails, password hash, TOTP secret and WebAuthn
credentials, each problem in words that name the field."""

from __future__ import annotations

import base64
import binascii
import contextlib
import uuid
from datetime import datetime
from typing import Any

from django.contrib.auth.hashers import get_hasher, identify_hasher, is_password_usable
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.dateparse import parse_datetime
from webauthn.helpers import decode_credential_public_key

from hankoflow.models.webauthn import MAX_CREDENTIAL_ID_BYTES
from hankoflow.services import accounts, totp
from hankoflow.services.user_transfer.records import (
    _B64URL,
    _BCRYPT,
    _CREDENTIAL_KEYS,
    _EMAIL_KEYS,
    _ENTRY_KEYS,
    _SECRET_KEYS,
    BCRYPT_PREFIXES,
    MAX_EMAIL_LENGTH,
    CredentialRecord,
    EmailRecord,
    UserRecord,
)


def _validate_row(index: int, line: int, data: Any, problems: list[str]) -> UserRecord | None:
    if not isinstance(data, dict):
        problems.append("a user must be a JSON object")
        return None
    _unknown_keys(data, _ENTRY_KEYS, "", problems)
    record = UserRecord(index=index, line=line, user_id=None)
    user_id = data.get("user_id")
    if user_id not in (None, ""):
        with contextlib.suppress(ValueError):
            record.user_id = uuid.UUID(user_id) if isinstance(user_id, str) else None
        if record.user_id is None:
            problems.append(f"user_id: {user_id!r} is not a UUID")
    record.created_at = _timestamp(data, "created_at", "", problems)
    record.updated_at = _timestamp(data, "updated_at", "", problems)

    username = data.get("username")
    if username is not None:
        if not isinstance(username, str) or not username.strip():
            problems.append("username: must be a non-empty string")
        elif len(username.strip()) > 255:
            problems.append("username: longer than 255 characters")
        else:
            record.username = accounts.normalise_username(username)
    record.emails = _emails(data.get("emails"), problems)
    if not data.get("emails") and "username" not in data:
        problems.append("emails: required when there is no username")

    record.password_hash = _password(data.get("password"), problems)
    _otp(data.get("otp_secret"), record, problems)
    credentials = data.get("webauthn_credentials")
    if credentials is not None:
        if not isinstance(credentials, list):
            problems.append("webauthn_credentials: must be an array")
        else:
            for n, item in enumerate(credentials):
                found = _credential(item, f"webauthn_credentials[{n}]", record, problems)
                if found is not None:
                    record.credentials.append(found)
            ids = [c.id for c in record.credentials]
            if len(set(ids)) != len(ids):
                problems.append("webauthn_credentials: the same credential id twice")
    return record


def _unknown_keys(data: dict[str, Any], known: set[str], where: str, problems: list[str]) -> None:
    # Hanko (Go's decoder) ignores unknown keys; we refuse them so a misspelt field is not lost.
    for key in sorted(set(data) - known):
        problems.append(f"{where}{key}: unknown field")


def _bool(data: dict[str, Any], key: str, where: str, problems: list[str]) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        problems.append(f"{where}{key}: must be true or false")
        return False
    return value


def _timestamp(data: dict[str, Any], key: str, where: str, problems: list[str]) -> datetime | None:
    value = data.get(key)
    if value is None:
        return None
    parsed = None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
    if parsed is None or parsed.tzinfo is None:
        problems.append(f"{where}{key}: {value!r} is not an RFC 3339 timestamp with a time zone")
        return None
    return parsed


def _emails(value: Any, problems: list[str]) -> list[EmailRecord]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append("emails: must be an array")
        return []
    found: list[EmailRecord] = []
    for n, item in enumerate(value):
        where = f"emails[{n}]."
        if not isinstance(item, dict):
            problems.append(f"emails[{n}]: must be an object")
            continue
        _unknown_keys(item, _EMAIL_KEYS, where, problems)
        address = item.get("address")
        if not isinstance(address, str):
            problems.append(f"{where}address: required, a string")
            continue
        address = accounts.normalise_email(address)
        try:
            validate_email(address)
        except ValidationError:
            problems.append(f"{where}address: {address!r} is not a valid email address")
            continue
        if len(address) > MAX_EMAIL_LENGTH:
            problems.append(f"{where}address: longer than {MAX_EMAIL_LENGTH} characters")
            continue
        found.append(
            EmailRecord(
                address=address,
                is_primary=_bool(item, "is_primary", where, problems),
                is_verified=_bool(item, "is_verified", where, problems),
            )
        )
    addresses = [e.address for e in found]
    if len(set(addresses)) != len(addresses):
        problems.append("emails: the same address twice")
    if found and sum(e.is_primary for e in found) != 1:
        problems.append("emails: exactly one address must have is_primary true")
    return found


def _password(value: Any, problems: list[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("password"), str):
        problems.append('password: must be an object {"password": "<hash>"}')
        return None
    _unknown_keys(value, {"password"} | _SECRET_KEYS, "password.", problems)
    _timestamp(value, "created_at", "password.", problems)
    _timestamp(value, "updated_at", "password.", problems)
    encoded = value["password"]
    if encoded.startswith(BCRYPT_PREFIXES):
        if not _BCRYPT.match(encoded):
            problems.append("password.password: not a well-formed bcrypt hash")
            return None
        encoded = "bcrypt$" + encoded  # Django's BCryptPasswordHasher encoding
    elif encoded.startswith("$fbscrypt$"):
        problems.append(
            "password.password: Firebase scrypt hashes cannot be verified by Django's hashers"
        )
        return None
    elif not is_password_usable(encoded):
        # Hanko: only accepts $2a$/$fbscrypt$; Django's own encodings are ours (exports).
        problems.append("password.password: not a password hash")
        return None
    problem = _hasher_problem(encoded)
    if problem:
        problems.append(f"password.password: {problem}")
        return None
    return encoded


def _hasher_problem(encoded: str) -> str | None:
    """Why this project cannot verify the hash, or None."""
    algorithm = encoded.split("$", 1)[0]
    try:
        identify_hasher(encoded)
        hasher = get_hasher(algorithm)
    except ValueError:
        if algorithm == "bcrypt":
            return (
                "a bcrypt hash needs django.contrib.auth.hashers.BCryptPasswordHasher "
                "in PASSWORD_HASHERS"
            )
        return f"no hasher in PASSWORD_HASHERS verifies {algorithm!r} hashes"
    if hasher.library:
        try:
            hasher._load_library()
        except ValueError:
            package = hasher.library[0] if isinstance(hasher.library, tuple) else hasher.library
            return f"a {algorithm} hash needs the {package!r} package (pip install {package})"
        if algorithm == "bcrypt" and _bcrypt_major(hasher) >= 5:
            # bcrypt 5 raises on a password over 72 bytes and Django's hasher passes that on: a
            # long password typed at login would be a server error instead of a wrong password.
            return "bcrypt 5 or later is installed; hankoflow[bcrypt] needs bcrypt<5"
    return None


def _bcrypt_major(hasher: Any) -> int:
    version = getattr(hasher._load_library(), "__version__", "0")
    try:
        return int(version.split(".")[0])
    except ValueError:
        return 0


def _otp(value: Any, record: UserRecord, problems: list[str]) -> None:
    if value is None:
        return
    if not isinstance(value, dict) or not isinstance(value.get("secret"), str):
        problems.append('otp_secret: must be an object {"secret": "<base32>"}')
        return
    _unknown_keys(value, {"secret"} | _SECRET_KEYS, "otp_secret.", problems)
    record.otp_created_at = _timestamp(value, "created_at", "otp_secret.", problems)
    _timestamp(value, "updated_at", "otp_secret.", problems)
    secret = value["secret"].strip().replace(" ", "").upper()
    try:
        raw = base64.b32decode(secret + "=" * (-len(secret) % 8))
    except (binascii.Error, ValueError):
        problems.append("otp_secret.secret: not base32")
        return
    # Hanko: takes any secret; we store none under 128 bits (RFC 4226 §4 R6, services/totp.py).
    if len(raw) < totp.MIN_SECRET_BYTES:
        problems.append(f"otp_secret.secret: shorter than {totp.MIN_SECRET_BYTES * 8} bits")
        return
    record.otp_secret = secret


def _credential(
    item: Any, where: str, record: UserRecord, problems: list[str]
) -> CredentialRecord | None:
    if not isinstance(item, dict):
        problems.append(f"{where}: must be an object")
        return None
    before = len(problems)
    where += "."
    _unknown_keys(item, _CREDENTIAL_KEYS, where, problems)
    credential_id = item.get("id")
    raw_id = _b64url(credential_id)
    if raw_id is None:
        problems.append(f"{where}id: required, base64url")
    elif len(raw_id) > MAX_CREDENTIAL_ID_BYTES:
        problems.append(f"{where}id: longer than {MAX_CREDENTIAL_ID_BYTES} bytes")
    public_key = _b64url(item.get("public_key"))
    if public_key is None:
        problems.append(f"{where}public_key: required, base64url")
    else:
        try:
            decode_credential_public_key(public_key)
        except Exception:  # the library raises several kinds for malformed COSE
            problems.append(f"{where}public_key: not a COSE public key")
    attestation_type = item.get("attestation_type")
    if not isinstance(attestation_type, str) or not attestation_type or len(attestation_type) > 32:
        problems.append(f"{where}attestation_type: required, a string of at most 32 characters")
    name = item.get("name") or ""
    if not isinstance(name, str) or len(name) > 255:
        problems.append(f"{where}name: a string of at most 255 characters")
    aaguid = item.get("aaguid")
    if aaguid is not None:
        try:
            aaguid = str(uuid.UUID(aaguid)) if isinstance(aaguid, str) else None
        except ValueError:
            aaguid = None
        if aaguid is None:
            problems.append(f"{where}aaguid: not a UUID")
    sign_count = item.get("sign_count", 0)
    if isinstance(sign_count, bool) or not isinstance(sign_count, int) or sign_count < 0:
        problems.append(f"{where}sign_count: a whole number from 0")
    transports = item.get("transports") or []
    if not isinstance(transports, list) or not all(isinstance(t, str) for t in transports):
        problems.append(f"{where}transports: an array of strings")
    elif len(set(transports)) != len(transports):
        problems.append(f"{where}transports: the same transport twice")
    mfa_only = _bool(item, "mfa_only", where, problems)
    user_handle = item.get("user_handle")
    if user_handle is not None:
        if mfa_only:
            problems.append(f"{where}user_handle: not allowed with mfa_only")
        elif not _names_user(user_handle, record.user_id):
            # Hanko: keeps a foreign user handle per credential; a discoverable login here
            # must present the Hanko user id (services/webauthn), so such a passkey is refused.
            problems.append(
                f"{where}user_handle: must be the user_id (hankoflow has no other user handle)"
            )
    credential = CredentialRecord(
        id=credential_id.rstrip("=") if isinstance(credential_id, str) else "",
        public_key=item.get("public_key", "").rstrip("=") if public_key else "",
        attestation_type=attestation_type if isinstance(attestation_type, str) else "",
        name=name if isinstance(name, str) else "",
        aaguid=aaguid,
        sign_count=sign_count if isinstance(sign_count, int) else 0,
        transports=list(transports) if isinstance(transports, list) else [],
        backup_eligible=_bool(item, "backup_eligible", where, problems),
        backup_state=_bool(item, "backup_state", where, problems),
        mfa_only=mfa_only,
        created_at=_timestamp(item, "created_at", where, problems),
        updated_at=_timestamp(item, "updated_at", where, problems),
        last_used_at=_timestamp(item, "last_used_at", where, problems),
    )
    return None if len(problems) > before else credential


def _b64url(value: Any) -> bytes | None:
    if not isinstance(value, str) or not _B64URL.match(value):
        return None
    text = value.rstrip("=")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def _names_user(user_handle: Any, user_id: uuid.UUID | None) -> bool:
    if user_id is None or not isinstance(user_handle, str):
        return False
    if user_handle == str(user_id):
        return True
    return _b64url(user_handle) == user_id.bytes
