"""Audit log entries (platform.md §6, security-checks AU-01…AU-03)."""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import RequestFactory

from hankoflow.http.request import RequestEnv
from hankoflow.models import Account, AuditLogEntry, Email
from hankoflow.services import audit

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("HANKOFLOW_SHARED_DIR", REPO.parent / "shared"))


@pytest.fixture
def account() -> Account:
    user = get_user_model().objects.create(username=f"user-{uuid.uuid4().hex[:8]}")
    account = Account.objects.create(user=user)
    Email.objects.create(account=account, address="other@example.com", is_primary=False)
    Email.objects.create(account=account, address="johnathan@x.io", is_primary=True)
    return account


def env(**headers) -> RequestEnv:
    request = RequestFactory().post("/login", **headers)
    return RequestEnv(request=request, language="de", ip="203.0.113.9", user_agent="Agent/1.0")


def test_entry_records_request_actor_and_details(account):
    step = env(HTTP_X_REQUEST_ID="req-123")
    flow_id = uuid.uuid4()
    entry = audit.record(
        audit.LOGIN_SUCCESS,
        env=step,
        account=account,
        details={"login_method": audit.METHOD_PASSCODE, "flow_id": flow_id},
    )
    entry.refresh_from_db()
    assert entry.type == "login_success" and entry.error is None
    assert entry.meta_http_request_id == "req-123"
    assert entry.meta_source_ip == "203.0.113.9"
    assert entry.meta_user_agent == "Agent/1.0"
    assert entry.actor_user_id == account.id
    assert entry.actor_email == "joh******@x.io"  # the primary address, masked
    assert entry.details == {"login_method": "passcode", "flow_id": str(flow_id)}
    assert entry.created_at and entry.updated_at


def test_failure_without_actor():
    entry = audit.record(
        audit.LOGIN_FAILURE, env=env(), error="wrong passcode", details={"flow_id": "f"}
    )
    assert entry.actor_user_id is None and entry.actor_email is None
    assert entry.error == "wrong passcode"


def test_explicit_email_is_the_actor_email(account):
    entry = audit.record(audit.EMAIL_CREATED, account=account, email=" New@Example.com")
    assert entry.actor_email == "n*****@example.com"


def test_outside_a_request():
    entry = audit.record(audit.USER_DELETED)
    assert (entry.meta_http_request_id, entry.meta_source_ip, entry.meta_user_agent) == ("", "", "")
    assert entry.details is None


def test_written_in_the_callers_transaction():
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record(audit.USER_CREATED, env=env())
        raise RuntimeError("step failed")
    assert not AuditLogEntry.objects.exists()


def test_entries_outlive_the_account(account):
    entry = audit.record(audit.USER_DELETED, account=account)
    account.user.delete()
    assert not Account.objects.exists()
    entry.refresh_from_db()
    assert entry.actor_user_id is not None


def test_unknown_types_are_refused():
    with pytest.raises(ValueError):
        audit.record("login_succeeded")
    assert not AuditLogEntry.objects.exists()


def test_request_id_is_generated_once_per_request():
    step = env()
    first = audit.record(audit.LOGIN_FAILURE, env=step)
    second = audit.record(audit.LOGIN_FAILURE, env=step)
    assert len(first.meta_http_request_id) == 32
    assert first.meta_http_request_id.isalnum()
    assert second.meta_http_request_id == first.meta_http_request_id
    assert audit.record(audit.LOGIN_FAILURE, env=env()).meta_http_request_id != (
        first.meta_http_request_id
    )


@pytest.mark.parametrize("bad", ["a\r\nb", "x" * 256])
def test_unusable_incoming_request_ids_are_replaced(bad):
    entry = audit.record(audit.LOGIN_FAILURE, env=env(HTTP_X_REQUEST_ID=bad))
    assert len(entry.meta_http_request_id) == 32 and entry.meta_http_request_id.isalnum()


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("john@example.com", "j*****@example.com"),
        ("johnathan@x.io", "joh******@x.io"),
        ("abcdef@x.io", "a*****@x.io"),
        ("abcdefg@x.io", "abc****@x.io"),
        ("a@x.io", "a*****@x.io"),
    ],
)
def test_email_mask(address, masked):
    assert audit.mask_email(address) == masked


@pytest.mark.parametrize(
    ("username", "masked"),
    [("a", "*"), ("ab", "a****b"), ("abc", "a****c"), ("alice", "a***e"), ("abcd", "a**d")],
)
def test_username_mask(username, masked):
    assert audit.mask_username(username) == masked


def test_details_email_and_username_are_masked_other_keys_not():
    entry = audit.record(
        audit.SECURITY_NOTIFICATION_SENT,
        details={"email": "john@example.com", "username": "alice", "email_address": "a@b.c"},
    )
    assert entry.details == {
        "email": "j*****@example.com",
        "username": "a***e",
        "email_address": "a@b.c",
    }


def test_console_output_is_one_json_line(account, caplog):
    step = RequestEnv(
        request=RequestFactory().post("/login"), language="", ip="::1", user_agent="evil\r\nUA"
    )
    with caplog.at_level(logging.INFO, logger="hankoflow.audit"):
        entry = audit.record(
            audit.LOGIN_FAILURE, env=step, account=account, error="x", details={"flow_id": "f"}
        )
    [message] = [r.getMessage() for r in caplog.records if r.name == "hankoflow.audit"]
    assert "\n" not in message and "\r" not in message
    line = json.loads(message)
    assert line["audience"] == "audit" and line["type"] == "login_failure"
    assert line["user_id"] == str(account.id) and line["user_email"] == "joh******@x.io"
    assert line["user_agent"] == "evil\r\nUA" and line["source_ip"] == "::1"
    assert line["http_request_id"] == entry.meta_http_request_id
    assert line["details"] == {"flow_id": "f"} and line["error"] == "x"
    assert isinstance(line["time_unix"], int)


def test_type_constants_are_hankos_list():
    assert len(audit.TYPES) == 42
    document = yaml.safe_load((SHARED / "hanko-openapi" / "openapi-admin.yaml").read_text())
    enum = set(document["components"]["schemas"]["AuditLogTypes"]["enum"])
    # The OpenAPI enum lacks the one type Hanko added later (platform.md §6.3).
    declared = set(audit.TYPES)
    assert declared == enum | {audit.SECURITY_NOTIFICATION_SENT}
