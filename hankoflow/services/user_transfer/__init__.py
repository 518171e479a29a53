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

The work is split by concern: ``records`` (what a file holds), ``reading`` and ``validation``
(checking a whole file first), ``importing`` and ``exporting``.
"""

from hankoflow.services.user_transfer.exporting import export_users, hanko_hash, has_otp_secret
from hankoflow.services.user_transfer.importing import import_users
from hankoflow.services.user_transfer.reading import read_file
from hankoflow.services.user_transfer.records import (
    CredentialRecord,
    EmailRecord,
    ImportFailed,
    ReadResult,
    RowError,
    UserRecord,
)

__all__ = [
    "CredentialRecord",
    "EmailRecord",
    "ImportFailed",
    "ReadResult",
    "RowError",
    "UserRecord",
    "export_users",
    "hanko_hash",
    "has_otp_secret",
    "import_users",
    "read_file",
]
