"""Fixtures of the fuzz run: the app served in-process with no way out, a signed-in person with
something of everything (so generated ids sometimes hit real rows), and the run's summary."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

import pytest

from hankoflow.services import sessions
from hankoflow.services.webhooks import network
from tests.fuzz import differences
from tests.fuzz.harness import EXAMPLES, FLOW_EXAMPLES, STATS, in_process

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


@pytest.fixture
def fuzz_app(settings, monkeypatch):
    """Serve WSGI requests in the test's transaction, with the legacy API on and no request
    leaving this machine: generated webhook callbacks and provider URLs are never called."""
    values = dict(getattr(settings, "HANKOFLOW", {}))
    values["LEGACY_API"] = {"ENABLED": True}
    settings.HANKOFLOW = values
    real_getaddrinfo = socket.getaddrinfo

    def loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        if str(host) not in _LOOPBACK:
            raise socket.gaierror(socket.EAI_NONAME, f"fuzz run: no lookups of {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def no_post(url: str, *args: Any, **kwargs: Any) -> Any:
        raise network.Refused("fuzz run: webhooks are not called")

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)
    monkeypatch.setattr(network, "post", no_post)
    with in_process() as captured:
        yield captured


@pytest.fixture
def legacy_routes(settings, fuzz_app):
    """Every legacy route mounted: as in Hanko v2.7.0, the password and passcode ones only with
    MFA off and ``DELETE /user`` only with account deletion allowed."""
    values = dict(settings.HANKOFLOW)
    values["MFA"] = {**values.get("MFA", {}), "ENABLED": False}
    values["ACCOUNT"] = {**values.get("ACCOUNT", {}), "ALLOW_DELETION": True}
    settings.HANKOFLOW = values


@dataclass
class Person:
    """Real rows a generated case may point at (see ``real_ids``)."""

    account: Any
    token: str
    ids: dict[str, str]


@pytest.fixture
def person(account_factory, soft_authenticator) -> Person:
    account = account_factory(
        password="correct horse battery", username="fuzzy", passkey=soft_authenticator
    )
    issued = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    email = account.emails.get()
    credential = account.webauthn_credentials.get()
    ids = {
        "id": str(account.id),
        "user_id": str(account.id),
        "email_id": str(email.id),
        "session_id": str(issued.session_id),
        "credential_id": str(credential.id),
    }
    return Person(account=account, token=issued.token, ids=ids)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not STATS.examples:
        return
    write = terminalreporter.write_line
    terminalreporter.section("fuzz (schemathesis)")
    for api in ("flow", "public", "admin"):
        if STATS.operations(api):
            statuses = sorted(
                (status, n) for (seen_api, status), n in STATS.statuses.items() if seen_api == api
            )
            shown = ", ".join(f"{status}×{n}" for status, n in statuses)
            limit = FLOW_EXAMPLES if api == "flow" else EXAMPLES
            write(
                f"{api}: {STATS.operations(api)} operations, {STATS.total(api)} examples "
                f"(at most {limit} per operation and mode); statuses {shown}"
            )
    write("Deliberate differences from Hanko's OpenAPI documents, as the run judged them:")
    for line in differences.lines():
        write(f"  {line}")
