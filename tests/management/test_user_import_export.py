"""``manage.py hankoflow_import_users`` / ``hankoflow_export_users``: files, errors, dry run, and
a round trip after which every account still signs in through the Flow API."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from hankoflow.management.commands import hankoflow_export_users, hankoflow_import_users
from hankoflow.models import Account, OTPSecret, WebauthnCredential
from hankoflow.services import user_transfer
from hankoflow.testing.client import FlowClient

bcrypt = pytest.importorskip("bcrypt")

PASSWORD = "a long enough password"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
WEBAUTHN = {"webauthn_available": True, "webauthn_platform_authenticator_available": True}


@pytest.fixture(autouse=True)
def with_bcrypt(settings):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.BCryptPasswordHasher",
    ]


def run(command: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write(tmp_path, users) -> str:
    path = tmp_path / "users.json"
    path.write_text(users if isinstance(users, str) else json.dumps(users, indent=2))
    return str(path)


def test_help_names_the_options():
    text = hankoflow_import_users.Command().create_parser("manage.py", "x").format_help()
    assert "--dry-run" in text and "--progress-every" in text and "Hanko" in text
    text = hankoflow_export_users.Command().create_parser("manage.py", "x").format_help()
    assert "--include-secrets" in text and "--user-id" in text and "--output" in text


def test_import_reports_progress_and_imports(db, tmp_path):
    path = write(tmp_path, [{"username": f"user{n}"} for n in range(5)])
    out, err = run("hankoflow_import_users", path, "--progress-every", "2")
    assert out == "imported 5 user(s)\n"
    assert err.splitlines() == ["imported 2/5", "imported 4/5", "imported 5/5"]
    assert Account.objects.count() == 5


def test_dry_run_validates_and_writes_nothing(db, tmp_path):
    path = write(tmp_path, [{"username": "a"}, {"emails": [{"address": "b@example.com"}]}])
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 error"):
        call_command("hankoflow_import_users", path, "--dry-run", stderr=err)
    assert "row 1 (line 5): emails: exactly one address" in err.getvalue()

    path = write(tmp_path, [{"username": "a"}, {"username": "b", "otp_secret": {"secret": SECRET}}])
    out, _ = run("hankoflow_import_users", path, "--dry-run")
    assert out == "2 user(s) valid; dry run, nothing was imported\n"
    assert Account.objects.count() == OTPSecret.objects.count() == 0
    assert get_user_model().objects.count() == 0


def test_a_bad_file_exits_non_zero_and_imports_nothing(db, tmp_path):
    path = write(tmp_path, '[\n  {"username": "fine"},\n  {"username": "x", "user_id": 5}\n]')
    err = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("hankoflow_import_users", path, stderr=err)
    assert failed.value.returncode == 1
    assert str(failed.value) == f"1 error(s) in {path}; nothing was imported"
    assert err.getvalue() == "row 1 (line 3): user_id: 5 is not a UUID\n"
    assert Account.objects.count() == 0

    broken = write(tmp_path, '[\n  {"username": "fine"},\n  {"username": \n]')
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("hankoflow_import_users", broken, stderr=err)
    assert err.getvalue().startswith("line 4: column 1: ")


def test_an_unreadable_file_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="cannot read .*missing.json"):
        run("hankoflow_import_users", str(tmp_path / "missing.json"))
    with pytest.raises(CommandError, match="--progress-every must be at least 1"):
        run("hankoflow_import_users", str(tmp_path / "missing.json"), "--progress-every", "0")


def test_duplicates_against_the_database_abort_the_import(db, tmp_path, account_factory):
    account_factory("taken@example.com")
    path = write(
        tmp_path,
        [
            {"username": "new"},
            {"emails": [{"address": "TAKEN@example.com", "is_primary": True}]},
        ],
    )
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("hankoflow_import_users", path, stderr=err)
    assert err.getvalue() == "row 1 (line 5): email 'taken@example.com' already exists\n"
    assert Account.objects.count() == 1


def test_export_warns_about_left_out_secrets_and_checks_user_ids(db, account_factory):
    account = account_factory("pat@example.com", totp=SECRET)
    out, err = run("hankoflow_export_users")
    assert "1 TOTP secret(s) left out" in err
    [entry] = json.loads(out)
    assert entry["user_id"] == str(account.id) and "otp_secret" not in entry
    out, err = run("hankoflow_export_users", "--include-secrets", "--user-id", str(account.id))
    assert "clear text" in err
    assert json.loads(out)[0]["otp_secret"]["secret"] == SECRET
    with pytest.raises(CommandError, match="not a UUID"):
        run("hankoflow_export_users", "--user-id", "nope")
    with pytest.raises(CommandError, match="1 --user-id value"):
        run("hankoflow_export_users", "--user-id", "00000000-0000-0000-0000-000000000001")


def login_with_password(email: str, password: str) -> tuple[FlowClient, Any]:
    login = FlowClient()
    state = login.act(
        login.start("login"), "register_client_capabilities", {"webauthn_available": False}
    )
    state = login.act(state, "continue_with_login_identifier", {"email": email})
    state = login.act(state, "continue_to_password_login")
    return login, login.act(state, "password_login", {"password": password})


def test_round_trip_keeps_every_way_to_sign_in(
    db, tmp_path, account_factory, soft_authenticator, totp_now
):
    pat = account_factory("pat@example.com", password=PASSWORD, totp=SECRET)
    kim = account_factory("kim@example.com", username="kim", passkey=soft_authenticator)
    hanko_hash = bcrypt.hashpw(b"from hanko", bcrypt.gensalt(4, prefix=b"2a")).decode()
    lee_file = [
        {
            "emails": [{"address": "lee@example.com", "is_primary": True, "is_verified": True}],
            "password": {"password": hanko_hash},
        }
    ]
    user_transfer.import_users(user_transfer.read_file(json.dumps(lee_file)).records)
    # Kim signs in once before the export, so the sign count is above zero.
    assert passkey_login(soft_authenticator)["user"]["id"] == str(kim.id)
    count_before = WebauthnCredential.objects.get().sign_count
    assert count_before > 0

    export = tmp_path / "export.json"
    run("hankoflow_export_users", "--include-secrets", "-o", str(export))
    entries = {e["emails"][0]["address"]: e for e in json.loads(export.read_text())}
    assert entries["lee@example.com"]["password"]["password"] == hanko_hash
    before = {(a.id, a.created_at) for a in Account.objects.all()}
    get_user_model().objects.all().delete()
    assert Account.objects.count() == WebauthnCredential.objects.count() == 0

    out, _ = run("hankoflow_import_users", str(export))
    assert out == "imported 3 user(s)\n"
    assert {(a.id, a.created_at) for a in Account.objects.all()} == before
    assert WebauthnCredential.objects.get().sign_count == count_before

    # Password, then the TOTP second factor.
    login, state = login_with_password("pat@example.com", PASSWORD)
    assert state.state == "login_otp"
    pat_account = Account.objects.get(pk=pat.id)
    state = login.act(state, "otp_code_validate", {"otp_code": totp_now(pat_account)})
    if state.state == "device_trust":
        state = login.act(state, "skip")
    assert state.state == "success"
    assert state.body["payload"]["user"]["id"] == str(pat.id)
    assert state.body["payload"]["claims"]["amr"] == ["pwd", "totp"]

    # The passkey, discoverable: the account id is still the WebAuthn user handle.
    payload = passkey_login(soft_authenticator)
    assert payload["user"]["id"] == str(kim.id) and payload["claims"]["amr"] == ["passkey"]

    # The Hanko bcrypt hash, exported in Hanko's form and imported back.
    _, state = login_with_password("lee@example.com", "from hanko")
    assert state.state == "success"
    assert state.body["payload"]["claims"]["amr"] == ["pwd"]


def passkey_login(device) -> dict:
    login = FlowClient()
    state = login.act(login.start("login"), "register_client_capabilities", WEBAUTHN)
    state = login.act(state, "webauthn_generate_request_options")
    options = state.body["payload"]["request_options"]
    done = login.act(
        state, "webauthn_verify_assertion_response", {"assertion_response": device.get(options)}
    )
    assert done.state == "success", done.body
    return done.body["payload"]


def test_a_password_over_72_bytes_against_an_imported_bcrypt_hash_is_just_wrong(db, tmp_path):
    # bcrypt 5 raises for such passwords where Django's hasher calls it; the login must answer.
    hanko_hash = bcrypt.hashpw(b"from hanko", bcrypt.gensalt(4, prefix=b"2a")).decode()
    users = [
        {
            "emails": [{"address": "lee@example.com", "is_primary": True, "is_verified": True}],
            "password": {"password": hanko_hash},
        }
    ]
    run("hankoflow_import_users", write(tmp_path, users))
    _, state = login_with_password("lee@example.com", "x" * 100)
    assert state.status == 400 and state.state == "login_password"
