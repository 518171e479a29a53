"""What a user file holds: the records read from it, the errors found, the limits."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from hankoflow.models import Email

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
