"""``accounts._identify``'s statement written once per database (PostgreSQL, SQLite) answers what
the ORM's text of the same query answers, and is the same statement whatever the account has
(security-checks PC-08)."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hankoflow.models import Email, OTPSecret, WebauthnCredential
from hankoflow.services import accounts

pytestmark = pytest.mark.django_db

LOOKUPS = {"emails__address": "ann@example.com", "username__username": "ann"}


def row(statement: tuple[str, tuple], value: str) -> tuple | None:
    sql, template = statement
    params = [value if param == accounts._PLACEHOLDER else param for param in template]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchone()
    # Booleans come back as 0/1 from SQLite; the facts read them with bool().
    return None if found is None else tuple(bool(v) if v in (0, 1) else v for v in found)


@pytest.mark.parametrize(
    "setup", ["plain", "password", "passkey", "security_key", "otp", "second_primary", "unknown"]
)
@pytest.mark.parametrize("lookup", list(LOOKUPS))
def test_the_written_statement_answers_as_the_orm_query(account_factory, setup, lookup):
    account = account_factory(
        "ann@example.com",
        username="ann",
        password="a long enough password" if setup == "password" else None,
    )
    for mfa_only, wanted in ((False, "passkey"), (True, "security_key")):
        if setup == wanted:
            WebauthnCredential.objects.create(
                id=uuid.uuid4().hex, account=account, public_key="x", mfa_only=mfa_only
            )
    if setup == "otp":
        OTPSecret.objects.create(account=account, secret_encrypted="x")
    if setup == "second_primary":
        Email.objects.filter(account=account).update(is_primary=False)
        Email.objects.create(account=account, address="ann2@example.com", is_primary=True)
    value = "nobody" if setup == "unknown" else LOOKUPS[lookup]

    written = row(accounts._identify_statement(connection.alias, lookup), value)
    compiled = row(accounts._identify_query(connection.alias, lookup), value)
    assert written == compiled
    assert (written is None) == (setup == "unknown")


def test_one_statement_text_whatever_the_account_has(account_factory):
    plain = account_factory("ann@example.com")
    rich = account_factory("bob@example.com", username="bob", password="a long enough password")
    WebauthnCredential.objects.create(id="k", account=rich, public_key="x", mfa_only=False)
    OTPSecret.objects.create(account=rich, secret_encrypted="x")
    texts = set()
    for address in ("ann@example.com", "bob@example.com", "nobody@example.com"):
        with CaptureQueriesContext(connection) as captured:
            accounts.identify_by_email(address)
        assert len(captured) == 1
        texts.add(captured[0]["sql"].replace(address, "?"))
    assert len(texts) == 1
    assert plain is not None
