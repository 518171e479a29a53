"""Users in and out of hankoflow in Hanko's import format (platform.md §10.4).

``read_file`` parses and validates a whole file before anything is written: JSON errors carry
their line and column, every row error its index and the line where the row starts, and
duplicates are found within the file and against the database. ``import_users`` then writes
every row in one transaction through the account, WebAuthn and TOTP services; ``export_users``
yields the same format, so an export imports into an empty database with every sign-in method
intact.

Password hashes: Hanko stores bcrypt (``$2a$...``); Django verifies it as ``bcrypt$$2a$...``
with ``BCryptPasswordHasher`` (the ``bcrypt`` package, extra ``hankoflow[bcrypt]``, and the
hasher listed in ``PASSWORD_HASHERS``). On export a Django bcrypt hash goes out in Hanko's form
and any other hash in Django's own encoding (``pbkdf2_sha256$...``), which this module imports
back but Hanko cannot.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.hashers import get_hasher, identify_hasher, is_password_usable
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.dateparse import parse_datetime
from webauthn.helpers import decode_credential_public_key

from hankoflow import clock
from hankoflow.models import Account, Email, OTPSecret, Username, WebauthnCredential
from hankoflow.models.webauthn import MAX_CREDENTIAL_ID_BYTES
from hankoflow.services import accounts, crypto, totp, webauthn

BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
_BCRYPT = re.compile(r"^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$")
_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
_QUERY_CHUNK = 500
MAX_EMAIL_LENGTH = Email._meta.get_field("address").max_length

_ENTRY_KEYS = {
    "user_id",
    "emails",
    "username",
    "webauthn_credentials",
    "password",
    "otp_secret",
    "created_at",
    "updated_at",
}
_EMAIL_KEYS = {"address", "is_primary", "is_verified"}
_CREDENTIAL_KEYS = {
    "id",
    "name",
    "public_key",
    "attestation_type",
    "aaguid",
    "sign_count",
    "last_used_at",
    "created_at",
    "updated_at",
    "transports",
    "backup_eligible",
    "backup_state",
    "mfa_only",
    "user_handle",
}
_SECRET_KEYS = {"created_at", "updated_at"}


# --- what a file holds --------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem in the file: ``index`` is the row's 0-based position in the array (None for
    the file as a whole), ``line`` the 1-based line where the row (or the JSON error) is."""

    index: int | None
    line: int | None
    message: str

    def __str__(self) -> str:
        if self.index is None:
            return f"line {self.line}: {self.message}" if self.line else self.message
        return f"row {self.index} (line {self.line}): {self.message}"


@dataclass
class EmailRecord:
    address: str
    is_primary: bool
    is_verified: bool


@dataclass
class CredentialRecord:
    id: str
    public_key: str
    attestation_type: str
    name: str
    aaguid: str | None
    sign_count: int
    transports: list[str]
    backup_eligible: bool
    backup_state: bool
    mfa_only: bool
    created_at: datetime | None
    updated_at: datetime | None
    last_used_at: datetime | None


@dataclass
class UserRecord:
    """One validated row, normalised (addresses and usernames lower-case, hashes in Django's
    encoding), with where it came from."""

    index: int
    line: int
    user_id: uuid.UUID | None
    emails: list[EmailRecord] = field(default_factory=list)
    username: str | None = None
    password_hash: str | None = None
    credentials: list[CredentialRecord] = field(default_factory=list)
    otp_secret: str | None = None
    otp_created_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass
class ReadResult:
    records: list[UserRecord]
    errors: list[RowError]


class ImportFailed(Exception):
    """The import stopped (everything rolled back) at one row."""

    def __init__(self, error: RowError) -> None:
        super().__init__(str(error))
        self.error = error


# --- reading ------------------------------------------------------------------------------------


def read_file(text: str) -> ReadResult:
    """Parse and validate a whole import file; ``errors`` empty means it may be imported."""
    try:
        rows = _split_rows(text)
    except json.JSONDecodeError as exc:
        return ReadResult([], [RowError(None, exc.lineno, f"column {exc.colno}: {exc.msg}")])
    except _NotAnArray as exc:
        return ReadResult([], [RowError(None, exc.line, str(exc))])
    records: list[UserRecord] = []
    errors: list[RowError] = []
    for index, line, data in rows:
        problems: list[str] = []
        record = _validate_row(index, line, data, problems)
        errors.extend(RowError(index, line, message) for message in problems)
        if record is not None and not problems:
            records.append(record)
    errors.extend(_duplicates(records))
    errors.sort(key=lambda e: e.index if e.index is not None else -1)
    return ReadResult(records, errors)


class _NotAnArray(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def _split_rows(text: str) -> list[tuple[int, int, Any]]:
    """The top-level array's elements with their index and the line each starts on."""
    decoder = json.JSONDecoder()
    pos = _skip_space(text, 0)
    if pos >= len(text) or text[pos] != "[":
        if pos < len(text):
            decoder.decode(text)  # a JSON error in something that is not an array is reported
        raise _NotAnArray("the file must hold a JSON array of users", _line_of(text, pos))
    pos = _skip_space(text, pos + 1)
    rows: list[tuple[int, int, Any]] = []
    if pos < len(text) and text[pos] == "]":
        pos += 1
    else:
        while True:
            line = _line_of(text, pos)
            try:
                value, pos = decoder.raw_decode(text, pos)
            except json.JSONDecodeError:
                if pos >= len(text):
                    raise json.JSONDecodeError("unexpected end of file", text, pos) from None
                raise
            rows.append((len(rows), line, value))
            pos = _skip_space(text, pos)
            if pos < len(text) and text[pos] == ",":
                pos = _skip_space(text, pos + 1)
                continue
            if pos < len(text) and text[pos] == "]":
                pos += 1
                break
            raise json.JSONDecodeError("expected ',' or ']' after a user", text, pos)
    pos = _skip_space(text, pos)
    if pos < len(text):
        raise json.JSONDecodeError("extra data after the array", text, pos)
    return rows


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


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


def _duplicates(records: list[UserRecord]) -> list[RowError]:
    """Values that must be unique, used twice in the file or already in the database."""
    errors: list[RowError] = []
    kinds: list[tuple[str, Callable[[UserRecord], Iterable[str]], Callable[[list[str]], set[str]]]]
    kinds = [
        ("user_id", lambda r: [str(r.user_id)] if r.user_id else [], _existing_accounts),
        ("email", lambda r: [e.address for e in r.emails], _existing_emails),
        ("username", lambda r: [r.username] if r.username else [], _existing_usernames),
        ("credential id", lambda r: [c.id for c in r.credentials], _existing_credentials),
    ]
    for label, values_of, existing in kinds:
        first_seen: dict[str, UserRecord] = {}
        for record in records:
            for value in values_of(record):
                if value in first_seen:
                    earlier = first_seen[value]
                    errors.append(
                        RowError(
                            record.index,
                            record.line,
                            f"{label} {value!r} also in row {earlier.index} (line {earlier.line})",
                        )
                    )
                else:
                    first_seen[value] = record
        taken = existing(list(first_seen))
        for value in sorted(taken):
            record = first_seen[value]
            errors.append(RowError(record.index, record.line, f"{label} {value!r} already exists"))
    return errors


def _in_chunks(values: list[str], query: Callable[[list[str]], Iterable[Any]]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(values), _QUERY_CHUNK):
        found.update(str(v) for v in query(values[start : start + _QUERY_CHUNK]))
    return found


def _existing_accounts(values: list[str]) -> set[str]:
    return _in_chunks(
        values, lambda chunk: Account.objects.filter(pk__in=chunk).values_list("pk", flat=True)
    )


def _existing_emails(values: list[str]) -> set[str]:
    return _in_chunks(
        values,
        lambda chunk: Email.objects.filter(address__in=chunk).values_list("address", flat=True),
    )


def _existing_usernames(values: list[str]) -> set[str]:
    return _in_chunks(
        values,
        lambda chunk: Username.objects.filter(username__in=chunk).values_list(
            "username", flat=True
        ),
    )


def _existing_credentials(values: list[str]) -> set[str]:
    return _in_chunks(
        values,
        lambda chunk: WebauthnCredential.objects.filter(pk__in=chunk).values_list("pk", flat=True),
    )


# --- importing ----------------------------------------------------------------------------------


def import_users(
    records: list[UserRecord],
    *,
    progress: Callable[[int, int], None] | None = None,
    every: int = 1000,
) -> int:
    """Create every record's account in one transaction; ``ImportFailed`` rolls all back.

    ``records`` come from a ``read_file`` without errors. ``progress(done, total)`` is called
    every ``every`` rows and at the end.
    """
    total = len(records)
    with transaction.atomic():
        for done, record in enumerate(records, start=1):
            try:
                with transaction.atomic():
                    _import_one(record)
            except ImportFailed:
                raise
            except Exception as exc:  # a rival write, the adapter refusing the user, ...
                raise ImportFailed(RowError(record.index, record.line, _describe(exc))) from exc
            if progress is not None and (done % every == 0 or done == total):
                progress(done, total)
    return total


def _describe(exc: Exception) -> str:
    if isinstance(exc, accounts.EmailAlreadyExists):
        return f"email {exc.args[0]!r} already exists"
    if isinstance(exc, accounts.UsernameAlreadyExists):
        return f"username {exc.args[0]!r} already exists"
    if isinstance(exc, webauthn.CredentialExists):
        return f"credential id {exc.args[0]!r} already exists"
    return f"{type(exc).__name__}: {exc}"


def _import_one(record: UserRecord) -> None:
    primary = next((e for e in record.emails if e.is_primary), None)
    account = accounts.create(
        record.user_id or uuid.uuid4(),
        email=primary.address if primary else None,
        email_verified=primary.is_verified if primary else False,
        username=record.username,
        password_hash=record.password_hash,
    )
    for email in record.emails:
        if email is not primary:
            accounts.add_email(account, email.address, verified=email.is_verified)
    for item in record.credentials:
        new = webauthn.NewCredential(
            id=item.id,
            public_key=item.public_key,
            sign_count=item.sign_count,
            aaguid=item.aaguid,
            transports=item.transports,
            attestation_type=item.attestation_type,
            backup_eligible=item.backup_eligible,
            backup_state=item.backup_state,
            mfa_only=item.mfa_only,
        )
        webauthn.save_credential(account, new, name=item.name)
        # Keep the file's history: save_credential stamps a registration happening now.
        now = clock.now()
        WebauthnCredential.objects.filter(pk=item.id).update(
            created_at=item.created_at or now,
            updated_at=item.updated_at or now,
            last_used_at=item.last_used_at,
        )
    if record.otp_secret:
        totp.save_secret(account, record.otp_secret, last_step=None)
        if record.otp_created_at:
            OTPSecret.objects.filter(account=account).update(created_at=record.otp_created_at)
    if record.created_at or record.updated_at:
        now = clock.now()
        Account.objects.filter(pk=account.pk).update(
            created_at=record.created_at or now, updated_at=record.updated_at or now
        )


# --- exporting ----------------------------------------------------------------------------------


def export_users(
    user_ids: list[uuid.UUID] | None = None, *, include_secrets: bool = False
) -> Iterator[dict[str, Any]]:
    """Every account (or those named) as an import-format entry, oldest first.

    TOTP secrets are decrypted and included only with ``include_secrets``.
    """
    rows = Account.objects.select_related("user", "username", "otp_secret").prefetch_related(
        "emails", "webauthn_credentials"
    )
    if user_ids is not None:
        rows = rows.filter(pk__in=user_ids)
    for account in rows.order_by("created_at", "id").iterator(chunk_size=_QUERY_CHUNK):
        yield _entry(account, include_secrets=include_secrets)


def _entry(account: Account, *, include_secrets: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"user_id": str(account.id)}
    emails = sorted(account.emails.all(), key=lambda e: (not e.is_primary, e.created_at, e.id))
    if emails:
        entry["emails"] = [
            {"address": e.address, "is_primary": e.is_primary, "is_verified": e.is_verified}
            for e in emails
        ]
    username = accounts.username_of(account)
    if username is not None:
        entry["username"] = username.username
    credentials = sorted(account.webauthn_credentials.all(), key=lambda c: (c.created_at, c.id))
    if credentials:
        entry["webauthn_credentials"] = [_credential_entry(c) for c in credentials]
    encoded = account.user.password
    if accounts.has_password(account.user):
        entry["password"] = {"password": hanko_hash(encoded)}
    if include_secrets:
        row = _otp_row(account)
        if row is not None:
            secret = crypto.decrypt(row.secret_encrypted, totp._CRYPTO_PURPOSE).decode("ascii")
            entry["otp_secret"] = {
                "secret": secret,
                "created_at": accounts.rfc3339(row.created_at),
            }
    entry["created_at"] = accounts.rfc3339(account.created_at)
    entry["updated_at"] = accounts.rfc3339(account.updated_at)
    return entry


def has_otp_secret(account_ids: list[uuid.UUID] | None = None) -> int:
    """How many of these accounts (all: None) have a TOTP secret (for the export's warning)."""
    rows = OTPSecret.objects.all()
    if account_ids is not None:
        rows = rows.filter(account_id__in=account_ids)
    return rows.count()


def hanko_hash(encoded: str) -> str:
    """A Django password hash in Hanko's form when Hanko can verify it (bcrypt), else as is."""
    algorithm, _, rest = encoded.partition("$")
    if algorithm == "bcrypt" and rest.startswith(BCRYPT_PREFIXES):
        return rest
    return encoded


def _otp_row(account: Account) -> OTPSecret | None:
    try:
        return account.otp_secret
    except OTPSecret.DoesNotExist:
        return None


def _credential_entry(credential: WebauthnCredential) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": credential.id,
        "public_key": credential.public_key,
        "attestation_type": credential.attestation_type,
        "sign_count": credential.sign_count,
        "transports": list(credential.transports or []),
        "backup_eligible": credential.backup_eligible,
        "backup_state": credential.backup_state,
        "mfa_only": credential.mfa_only,
        "created_at": accounts.rfc3339(credential.created_at),
        "updated_at": accounts.rfc3339(credential.updated_at),
    }
    if credential.name:
        entry["name"] = credential.name
    if credential.aaguid is not None:
        entry["aaguid"] = str(credential.aaguid)
    if credential.last_used_at is not None:
        entry["last_used_at"] = accounts.rfc3339(credential.last_used_at)
    return entry
