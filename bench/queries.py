"""SQL statements per Flow API step, counted in-process (``python -m bench.queries``).

Hanko's password login chain, step by step (``POST /login``, ``register_client_capabilities``,
``continue_with_login_identifier``, ``continue_to_password_login``, ``password_login``, for a user
made here with ``accounts.create``), one request to the bench's SELECT+UPDATE baseline view and
one to its ``request.user`` view with a session JWT go through Django's test ``Client`` under
``CaptureQueriesContext``. The session signing key and the process's cache of its public key
exist before counting (the steady state: the first login ever creates the key, and each process
reads a public key at most once a minute).

Transaction control is listed but not counted. Django logs a ``BEGIN`` and a ``COMMIT`` for every
``atomic`` block (``BEGIN IMMEDIATE`` on SQLite with this project's ``transaction_mode``), plus
``SAVEPOINT``/``RELEASE`` for a nested block or for every block when the caller already holds a
transaction (e.g. a test wrapped in one). On PostgreSQL psycopg sends ``BEGIN`` only with a
block's first statement and ``COMMIT`` only after one, so the report also gives what libpq really
sent (its own trace of the connection): a step that writes nothing but its flow sends neither
(``hankoflow.services.lazy_transaction``), and the chains' totals add those round trips.

``bin/bench`` runs this module with the same settings and database as the server; the smoke test
``tests/bench/test_bench_smoke.py`` calls ``count_queries`` inside pytest-django.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from bench.wire import sent_statements

CAPABILITY_STEP_TARGET = 3  # at most this many SQL statements per register_client_capabilities
SQL_WIDTH = 150  # characters of each statement shown in the report

TRANSACTION_CONTROL = re.compile(
    r"^\s*(BEGIN|COMMIT|ROLLBACK|START TRANSACTION|SAVEPOINT|RELEASE)\b", re.IGNORECASE
)


@dataclass
class StepQueries:
    name: str
    status: int
    sql: list[str] = field(default_factory=list)
    # BEGIN/COMMIT/ROLLBACK really sent (libpq's trace; PostgreSQL only, else None). Django logs
    # a BEGIN and a COMMIT for every atomic block, but psycopg sends them only around a block
    # that ran a statement: a step that writes nothing but its flow sends neither.
    control_sent: int | None = None

    @property
    def statements(self) -> list[str]:
        """The SQL that counts: everything but transaction control."""
        return [s for s in self.sql if not TRANSACTION_CONTROL.match(s)]


# The password login chain after POST /login: (action, input_data, the state it must reach).
PASSWORD_CHAIN = (
    ("register_client_capabilities", {"webauthn_available": False}, "login_init"),
    ("continue_with_login_identifier", "email", "login_method_chooser"),
    ("continue_to_password_login", {}, "login_password"),
    ("password_login", "password", "success"),
)
PASSWORD = "bench password 0123"  # noqa: S105 (a bench fixture)

# The passcode login chain after POST /login; "code" is the code the email carried.
PASSCODE_CHAIN = (
    ("register_client_capabilities", {"webauthn_available": False}, "login_init"),
    ("continue_with_login_identifier", "email", "login_method_chooser"),
    ("continue_to_passcode_confirmation", {}, "passcode_confirmation"),
    ("verify_passcode", "code", "success"),
)
PASSCODE_PREFIX = "passcode: "  # the passcode chain's step names start with this


def count_queries() -> list[StepQueries]:
    """Run the requests once each and return the SQL each one sent."""
    import uuid

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    from hankoflow.services import accounts, jwks, passwords, sessions

    domain = os.environ.get("BENCH_EMAIL_DOMAIN") or "bench.example.com"
    email = f"queries-{uuid.uuid4().hex[:12]}@{domain}"
    account = accounts.create(
        uuid.uuid4(),
        email=email,
        email_verified=True,
        username=None,
        password_hash=passwords.hash_password(PASSWORD),
    )
    jwks.signing_key()  # created on first use; a running server has one
    jwks.signing_key()  # read back once, so this process remembers it as a server's does
    inputs = {"email": {"email": email}, "password": {"password": PASSWORD}}
    client = Client()
    steps, flow_id = _chain(client, PASSWORD_CHAIN, inputs, "")
    # The passcode chain, with the code taken from the email as it is sent (the outbox's
    # on-commit send runs inside the request); the email backend is locmem for this.
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        inputs["code"] = _CodeFromOutbox()
        passcode_steps, _ = _chain(Client(), PASSCODE_CHAIN, inputs, PASSCODE_PREFIX)
    steps += passcode_steps

    issued = sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    bearer = {"Authorization": f"Bearer {issued.token}"}
    with override_settings(ROOT_URLCONF="bench.urls"):
        with CaptureQueriesContext(connection) as captured:
            response = client.post(f"/bench/baseline/{flow_id}")
        steps.append(StepQueries("baseline SELECT+UPDATE", response.status_code, _sql(captured)))

        client.post("/bench/user", headers=bearer)  # caches the public key, as a server has
        with CaptureQueriesContext(connection) as captured:
            response = client.post("/bench/user", headers=bearer)
        user = StepQueries("request.user from session JWT", response.status_code, _sql(captured))
        if response.status_code == 200 and response.json() != {"user_id": account.user.pk}:
            user.status = -1  # answered, but not as the session's user
        steps.append(user)

    return steps


class _CodeFromOutbox:
    """The input ``{"code": ...}`` of the last email Django's locmem backend received."""

    def value(self) -> dict[str, str]:
        from django.core import mail

        from bench.mail import CODE_LINE

        messages = getattr(mail, "outbox", [])
        match = CODE_LINE.search(messages[-1].body) if messages else None
        return {"code": match.group(1) if match else ""}


def _chain(client, chain, inputs, prefix: str) -> tuple[list[StepQueries], str]:
    """POST /login, then each ``(action, input_data, state it must reach)`` of ``chain``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    steps: list[StepQueries] = []
    with CaptureQueriesContext(connection) as captured, _control_sent(connection) as sent:
        response = client.post("/login", data="", content_type="application/json")
    steps.append(
        StepQueries(prefix + "POST /login (init)", response.status_code, _sql(captured), *sent)
    )
    body = response.json()
    flow_id = body["actions"]["register_client_capabilities"]["href"].rsplit("%40", 1)[1]

    for action, input_data, reaches in chain:
        data = inputs[input_data] if isinstance(input_data, str) else input_data
        payload = {
            "input_data": data.value() if isinstance(data, _CodeFromOutbox) else data,
            "csrf_token": body.get("csrf_token"),
        }
        href = body.get("actions", {}).get(action, {}).get("href")
        if href is None:  # the previous step did not reach its state: nothing to count
            steps.append(StepQueries(prefix + action, -1))
            continue
        with CaptureQueriesContext(connection) as captured, _control_sent(connection) as sent:
            response = client.post(href, data=json.dumps(payload), content_type="application/json")
        step = StepQueries(prefix + action, response.status_code, _sql(captured), *sent)
        body = response.json()
        if response.status_code == 200 and body.get("name") != reaches:
            step.status = -1  # answered, but not with the next state: not the step we wanted
        steps.append(step)
    return steps, flow_id


@contextmanager
def _control_sent(connection) -> Iterator[list[int | None]]:
    """Counts the transaction control libpq sends in the block (``bench.wire``; psycopg 3 sends
    BEGIN and COMMIT as simple queries); [None] elsewhere."""
    found: list[int | None] = [None]
    with sent_statements(connection) as sent:
        yield found
    if sent is not None:
        found[0] = sum(1 for text in sent if TRANSACTION_CONTROL.match(text))


def _control_total(steps: list[StepQueries]) -> str:
    sent = [step.control_sent for step in steps]
    return "" if None in sent else f" + {sum(sent)} BEGIN/COMMIT sent"  # type: ignore[arg-type]


def _sql(captured) -> list[str]:
    return [" ".join(query["sql"].split()) for query in captured.captured_queries]


def report(steps: list[StepQueries], vendor: str) -> str:
    lines = [f"SQL statements per request (in-process, Django test Client, {vendor}):"]
    for step in steps:
        extra = len(step.sql) - len(step.statements)
        note = f" (+{extra} transaction-control logged, not counted" if extra else ""
        if note and step.control_sent is not None:
            note += f"; {step.control_sent} sent"
        note += ")" if note else ""
        lines.append(f"  {step.name}: {len(step.statements)} statements, HTTP {step.status}{note}")
        for n, sql in enumerate(step.sql, 1):
            shown = sql if len(sql) <= SQL_WIDTH else sql[: SQL_WIDTH - 3] + "..."
            lines.append(f"    {n}. {shown}")
    by_name = {step.name: step for step in steps}
    chain = [by_name["POST /login (init)"]] + [by_name[action] for action, _, _ in PASSWORD_CHAIN]
    lines.append(
        "Password login chain: "
        + " + ".join(str(len(step.statements)) for step in chain)
        + f" = {sum(len(step.statements) for step in chain)} statements"
        + _control_total(chain)
        + " (init, capabilities, identifier, method chooser, password)"
        + ("" if all(step.status == 200 for step in chain) else ": INCOMPLETE, see the statuses")
    )
    passcode = [by_name[PASSCODE_PREFIX + "POST /login (init)"]] + [
        by_name[PASSCODE_PREFIX + action] for action, _, _ in PASSCODE_CHAIN
    ]
    lines.append(
        "Passcode login chain: "
        + " + ".join(str(len(step.statements)) for step in passcode)
        + f" = {sum(len(step.statements) for step in passcode)} statements"
        + _control_total(passcode)
        + " (init, capabilities, identifier, send the code, verify it)"
        + ("" if all(s.status == 200 for s in passcode) else ": INCOMPLETE, see the statuses")
    )
    lines.append(
        "request.user from session JWT (the session-validity entry warm in a shared cache): plus,"
        " every 5 s per session when its entry expires, the session SELECT and an UPDATE of its"
        " last_used; with a per-process cache, the session SELECT on every request"
    )
    capability = by_name["register_client_capabilities"]
    count = len(capability.statements)
    verdict = "PASS" if count <= CAPABILITY_STEP_TARGET and capability.status == 200 else "FAIL"
    lines.append(
        f"Target: register_client_capabilities uses <= {CAPABILITY_STEP_TARGET} SQL statements"
        f" -> {count} statements: {verdict}"
    )
    return "\n".join(lines)


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.db import DatabaseError, connection

    try:
        steps = count_queries()
    except DatabaseError as exc:
        print(f"SQL count failed: {exc.__class__.__name__}: {exc}", flush=True)
        return 1
    print(report(steps, connection.vendor), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
