"""``manage.py hankoflow_api_key``: create (shown once), list, revoke."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from hankoflow.models import ApiKey
from hankoflow.services import api_keys


def run(*args: str) -> str:
    out = StringIO()
    call_command("hankoflow_api_key", *args, stdout=out)
    return out.getvalue()


def created_key(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(api_keys.PREFIX))


def test_create_prints_a_working_key_once(db):
    output = run("create", "billing", "--scope", "full")
    plaintext = created_key(output)
    key = api_keys.authenticate(plaintext)
    assert key is not None and key.name == "billing" and key.scope == "full"
    assert key.created_by == "manage.py"
    listing = run("list")
    assert plaintext not in listing and key.key_hash not in listing
    assert key.prefix in listing and "billing" in listing and "active" in listing


def test_the_default_scope_is_read(db):
    key = api_keys.authenticate(created_key(run("create", "reports")))
    assert key.scope == "read"


def test_revoke_by_prefix_or_id(db):
    first = api_keys.create("one")
    second = api_keys.create("two")
    assert "revoked" in run("revoke", first.plaintext[: api_keys.SHOWN_PREFIX_LENGTH])
    assert api_keys.authenticate(first.plaintext) is None
    run("revoke", str(second.key.pk))
    assert api_keys.authenticate(second.plaintext) is None
    assert "revoked" in run("list")
    with pytest.raises(CommandError, match="revoked already"):
        run("revoke", str(second.key.pk))


@pytest.mark.parametrize("name", ["", "x" * 101])
def test_create_refuses_bad_names(db, name):
    with pytest.raises(CommandError):
        run("create", name)
    assert not ApiKey.objects.exists()


def test_revoke_refuses_unknown_and_short_prefixes(db):
    api_keys.create("one")
    for value in ("hfk_", "nothing", "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(CommandError, match="no API key"):
            run("revoke", value)
