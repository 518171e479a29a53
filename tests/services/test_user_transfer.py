"""Reading, importing and exporting users in Hanko's import format (platform.md §10.4)."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.auth.hashers import check_password

from hankoflow.models import Account, Email, OTPSecret, Username, WebauthnCredential
from hankoflow.services import totp, user_transfer
from hankoflow.testing.webauthn import _cose_key, b64url

bcrypt = pytest.importorskip("bcrypt")

MD5 = "django.contrib.auth.hashers.MD5PasswordHasher"
BCRYPT = "django.contrib.auth.hashers.BCryptPasswordHasher"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # 160 bits
USER_ID = "8c3b9a52-1d8e-4a6b-9f0e-2f6c7d1a4b55"


@pytest.fixture
def with_bcrypt(settings):
    settings.PASSWORD_HASHERS = [MD5, BCRYPT]


def hanko_bcrypt(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(4, prefix=b"2a")).decode()


def cose_key() -> str:
    return b64url(_cose_key(ec.generate_private_key(ec.SECP256R1()).public_key()))


def full_user(**changes) -> dict:
    user = {
        "user_id": USER_ID,
        "emails": [
            {"address": "Pat@Example.com", "is_primary": True, "is_verified": True},
            {"address": "pat@work.example", "is_primary": False, "is_verified": False},
        ],
        "username": "Pat",
        "webauthn_credentials": [
            {
                "id": b64url(b"credential-one"),
                "name": "laptop",
                "public_key": cose_key(),
                "attestation_type": "none",
                "aaguid": "adce0002-35bc-c60a-648b-0b25f1f05503",
                "sign_count": 7,
                "transports": ["internal", "hybrid"],
                "backup_eligible": True,
                "backup_state": True,
                "mfa_only": False,
                "created_at": "2024-03-01T10:00:00Z",
                "last_used_at": "2024-05-01T10:00:00.5Z",
            }
        ],
        "password": {"password": hanko_bcrypt("correct horse")},
        "otp_secret": {"secret": SECRET, "created_at": "2024-02-01T09:00:00Z"},
        "created_at": "2024-01-15T12:57:56.72405Z",
        "updated_at": "2024-06-01T08:00:00+02:00",
    }
    user.update(changes)
    return user


def dump(users: list) -> str:
    return json.dumps(users, indent=2)


def test_a_good_file_imports_everything(db, with_bcrypt):
    users = [full_user(), {"emails": [{"address": "sam@example.com", "is_primary": True}]}]
    result = user_transfer.read_file(dump(users))
    assert result.errors == []
    assert user_transfer.import_users(result.records) == 2

    account = Account.objects.get(pk=USER_ID)
    assert account.created_at.isoformat() == "2024-01-15T12:57:56.724050+00:00"
    assert account.updated_at.isoformat() == "2024-06-01T06:00:00+00:00"
    emails = {e.address: (e.is_primary, e.is_verified) for e in account.emails.all()}
    assert emails == {"pat@example.com": (True, True), "pat@work.example": (False, False)}
    assert account.username.username == "pat"
    assert check_password("correct horse", account.user.password)
    assert account.user.password.startswith("bcrypt$$2a$04$")
    credential = WebauthnCredential.objects.get(account=account)
    assert (credential.sign_count, credential.transports, credential.name) == (
        7,
        ["internal", "hybrid"],
        "laptop",
    )
    assert credential.backup_eligible and credential.backup_state and not credential.mfa_only
    assert str(credential.aaguid) == "adce0002-35bc-c60a-648b-0b25f1f05503"
    assert credential.created_at.isoformat() == "2024-03-01T10:00:00+00:00"
    assert credential.last_used_at.isoformat() == "2024-05-01T10:00:00.500000+00:00"
    assert totp.matching_step(SECRET, totp_code(SECRET)) is not None
    row = OTPSecret.objects.get(account=account)
    assert SECRET not in row.secret_encrypted  # encrypted at rest
    assert row.created_at.isoformat() == "2024-02-01T09:00:00+00:00"

    sam = Account.objects.get(emails__address="sam@example.com")
    assert not sam.user.has_usable_password()
    assert not sam.emails.get().is_verified


def totp_code(secret: str) -> str:
    import pyotp

    return pyotp.TOTP(secret).now()


def test_json_errors_name_line_and_column(db):
    text = '[\n  {"username": "a"},\n  {"username": "b",}\n]'
    [error] = user_transfer.read_file(text).errors
    assert (error.index, error.line) == (None, 3)
    assert str(error).startswith("line 3: column 20: ")

    [error] = user_transfer.read_file('[\n  {"username": "a"}\n  {"username": "b"}\n]').errors
    assert str(error) == "line 3: column 3: expected ',' or ']' after a user"
    [error] = user_transfer.read_file('[\n  {"username": "a"},\n').errors
    assert error.line == 3
    [error] = user_transfer.read_file('{"username": "a"}').errors
    assert str(error) == "line 1: the file must hold a JSON array of users"
    assert user_transfer.read_file("[]").errors == []


def test_row_errors_name_the_row_and_the_line_it_starts_on(db, with_bcrypt):
    users = [
        full_user(),
        {"user_id": "not-a-uuid", "emails": [{"address": "nope", "is_primary": True}]},
        {"emails": [{"address": "a@example.com"}, {"address": "b@example.com"}]},
        {"password": {"password": "$fbscrypt$abc"}, "username": "x", "usrname": "y"},
        {},
    ]
    text = dump(users)
    starts = [n for n, line in enumerate(text.splitlines(), start=1) if line.startswith("  {")]
    errors = [str(e) for e in user_transfer.read_file(text).errors]
    assert errors == [
        f"row 1 (line {starts[1]}): user_id: 'not-a-uuid' is not a UUID",
        f"row 1 (line {starts[1]}): emails[0].address: 'nope' is not a valid email address",
        f"row 2 (line {starts[2]}): emails: exactly one address must have is_primary true",
        f"row 3 (line {starts[3]}): usrname: unknown field",
        f"row 3 (line {starts[3]}): password.password: Firebase scrypt hashes cannot be "
        "verified by Django's hashers",
        f"row 4 (line {starts[4]}): emails: required when there is no username",
    ]
    assert starts[0] == 2 and len(starts) == 5


def test_exact_lines_in_a_hand_written_file(db):
    text = """[
  {"username": "ok"},

  {"username": "",
   "emails": []},
  {"username": "ok2", "webauthn_credentials": [
    {"id": "???", "public_key": "AAAA", "attestation_type": "none", "mfa_only": true,
     "user_handle": "abc"}
  ]}
]"""
    assert [str(e) for e in user_transfer.read_file(text).errors] == [
        "row 1 (line 4): username: must be a non-empty string",
        "row 2 (line 6): webauthn_credentials[0].id: required, base64url",
        "row 2 (line 6): webauthn_credentials[0].public_key: not a COSE public key",
        "row 2 (line 6): webauthn_credentials[0].user_handle: not allowed with mfa_only",
    ]


def test_duplicates_within_the_file_and_against_the_database(db, account_factory):
    account_factory("taken@example.com", username="taken")
    existing = Account.objects.get()
    credential = b64url(b"same-credential")
    cred = {"id": credential, "public_key": cose_key(), "attestation_type": "none"}
    users = [
        {"user_id": USER_ID, "emails": [{"address": "a@example.com", "is_primary": True}]},
        {"user_id": USER_ID, "emails": [{"address": "A@example.com", "is_primary": True}]},
        {"user_id": str(existing.id), "username": "Taken", "webauthn_credentials": [cred]},
        {"emails": [{"address": "taken@example.com", "is_primary": True}]},
        {"username": "other", "webauthn_credentials": [cred]},
    ]
    text = json.dumps(users)  # one line: every row starts on line 1
    errors = [(e.index, e.message) for e in user_transfer.read_file(text).errors]
    assert sorted(errors) == sorted(
        [
            (1, f"user_id '{USER_ID}' also in row 0 (line 1)"),
            (1, "email 'a@example.com' also in row 0 (line 1)"),
            (2, f"user_id '{existing.id}' already exists"),
            (2, "username 'taken' already exists"),
            (3, "email 'taken@example.com' already exists"),
            (4, f"credential id '{credential}' also in row 2 (line 1)"),
        ]
    )


def test_bcrypt_needs_its_hasher_in_password_hashers(db):
    users = [{"username": "u", "password": {"password": hanko_bcrypt("pw")}}]
    [error] = user_transfer.read_file(dump(users)).errors
    assert error.message == (
        "password.password: a bcrypt hash needs "
        "django.contrib.auth.hashers.BCryptPasswordHasher in PASSWORD_HASHERS"
    )


def test_bcrypt_needs_the_bcrypt_package(db, with_bcrypt, monkeypatch):
    from django.contrib.auth.hashers import BCryptPasswordHasher

    monkeypatch.setattr(BCryptPasswordHasher, "library", ("bcrypt", "no_such_bcrypt_module"))
    users = [{"username": "u", "password": {"password": hanko_bcrypt("pw")}}]
    [error] = user_transfer.read_file(dump(users)).errors
    assert error.message == (
        "password.password: a bcrypt hash needs the 'bcrypt' package (pip install bcrypt)"
    )


def test_bcrypt_5_is_refused(db, with_bcrypt, monkeypatch):
    monkeypatch.setattr(bcrypt, "__version__", "5.0.0")
    users = [{"username": "u", "password": {"password": hanko_bcrypt("pw")}}]
    [error] = user_transfer.read_file(dump(users)).errors
    assert error.message == (
        "password.password: bcrypt 5 or later is installed; hankoflow[bcrypt] needs bcrypt<5"
    )


def test_short_or_malformed_secrets_are_refused(db):
    users = [
        {"username": "a", "otp_secret": {"secret": "JBSWY3DPEHPK3PXP"}},  # 80 bits
        {"username": "b", "otp_secret": {"secret": "not base32!"}},
        {"username": "c", "password": {"password": "$2a$10$tooshort"}},
        {"username": "d", "password": {"password": "!unusable"}},
        {"emails": [{"address": "a" * 250 + "@example.com", "is_primary": True}]},
    ]
    messages = [e.message for e in user_transfer.read_file(dump(users)).errors]
    assert messages == [
        "otp_secret.secret: shorter than 128 bits",
        "otp_secret.secret: not base32",
        "password.password: not a well-formed bcrypt hash",
        "password.password: not a password hash",
        "emails[0].address: longer than 254 characters",
    ]


def test_a_failing_row_rolls_back_the_whole_import(db, monkeypatch):
    users = [{"username": "first"}, {"username": "second", "otp_secret": {"secret": SECRET}}]
    result = user_transfer.read_file(dump(users))
    assert result.errors == []

    def refuse(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(totp, "save_secret", refuse)
    with pytest.raises(user_transfer.ImportFailed) as failed:
        user_transfer.import_users(result.records)
    assert str(failed.value) == "row 1 (line 5): RuntimeError: disk full"
    assert Account.objects.count() == Username.objects.count() == 0


def test_progress_is_reported_every_n_rows(db):
    users = [{"username": f"user{n}"} for n in range(5)]
    seen = []
    records = user_transfer.read_file(dump(users)).records
    user_transfer.import_users(records, progress=lambda d, t: seen.append((d, t)), every=2)
    assert seen == [(2, 5), (4, 5), (5, 5)]


def test_export_gives_hanko_bcrypt_and_django_hashes_otherwise(db, with_bcrypt, account_factory):
    user_transfer.import_users(user_transfer.read_file(dump([full_user()])).records)
    md5 = account_factory("md5@example.com", password="another password", totp=SECRET)
    by_id = {e["user_id"]: e for e in user_transfer.export_users()}
    pat = by_id[USER_ID]
    assert pat["password"]["password"].startswith("$2a$04$")
    assert pat["emails"][0] == {
        "address": "pat@example.com",
        "is_primary": True,
        "is_verified": True,
    }
    assert pat["username"] == "pat"
    assert pat["created_at"] == "2024-01-15T12:57:56.72405Z"
    assert "otp_secret" not in pat  # secrets only when asked for
    assert by_id[str(md5.id)]["password"]["password"].startswith("md5$")
    with_secrets = list(user_transfer.export_users([md5.id], include_secrets=True))
    assert [e["otp_secret"]["secret"] for e in with_secrets] == [SECRET]
    assert user_transfer.has_otp_secret() == 2
    assert Email.objects.count() == 3


def test_a_value_taken_after_validation_fails_the_import_with_its_row(db, account_factory):
    users = [
        {"username": "first"},
        {"emails": [{"address": "late@example.com", "is_primary": True}]},
    ]
    result = user_transfer.read_file(dump(users))
    assert result.errors == []
    account_factory("late@example.com")  # someone signs up in between
    with pytest.raises(user_transfer.ImportFailed) as failed:
        user_transfer.import_users(result.records)
    assert str(failed.value) == "row 1 (line 5): email 'late@example.com' already exists"
    assert Account.objects.count() == 1
