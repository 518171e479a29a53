"""SQL statements per Flow API step, counted in-process (``python -m bench.queries``).

One ``POST /login`` (flow initialization), one ``register_client_capabilities`` step and one
request to the bench's SELECT+UPDATE baseline view go through Django's test ``Client`` under
``CaptureQueriesContext``. Transaction control is listed but not counted, since whether it shows
up depends on the backend, not on the app: Django logs ``BEGIN``/``COMMIT`` on SQLite but not on
PostgreSQL (psycopg opens the transaction implicitly), and ``SAVEPOINT``/``RELEASE`` only when the
caller already holds a transaction (e.g. a test wrapped in one).

``bin/bench`` runs this module with the same settings and database as the server; the smoke test
``tests/bench/test_bench_smoke.py`` calls ``count_queries`` inside pytest-django.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field

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

    @property
    def statements(self) -> list[str]:
        """The SQL that counts: everything but transaction control."""
        return [s for s in self.sql if not TRANSACTION_CONTROL.match(s)]


def count_queries() -> list[StepQueries]:
    """Run the three requests once each and return the SQL each one sent."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    client = Client()

    with CaptureQueriesContext(connection) as captured:
        response = client.post("/login", data="", content_type="application/json")
    init = StepQueries("POST /login (init)", response.status_code, _sql(captured))
    body = response.json()
    href = body["actions"]["register_client_capabilities"]["href"]
    flow_id = href.rsplit("%40", 1)[1]

    payload = {"input_data": {"webauthn_available": True}, "csrf_token": body["csrf_token"]}
    with CaptureQueriesContext(connection) as captured:
        response = client.post(href, data=json.dumps(payload), content_type="application/json")
    step = StepQueries("register_client_capabilities", response.status_code, _sql(captured))
    if response.status_code == 200 and response.json().get("name") != "login_init":
        step.status = -1  # answered, but not with the next state: not the step we wanted

    with (
        override_settings(ROOT_URLCONF="bench.urls"),
        CaptureQueriesContext(connection) as captured,
    ):
        response = client.post(f"/bench/baseline/{flow_id}")
    baseline = StepQueries("baseline SELECT+UPDATE", response.status_code, _sql(captured))

    return [init, step, baseline]


def _sql(captured) -> list[str]:
    return [" ".join(query["sql"].split()) for query in captured.captured_queries]


def report(steps: list[StepQueries], vendor: str) -> str:
    lines = [f"SQL statements per request (in-process, Django test Client, {vendor}):"]
    for step in steps:
        extra = len(step.sql) - len(step.statements)
        note = f" (+{extra} transaction-control, not counted)" if extra else ""
        lines.append(f"  {step.name}: {len(step.statements)} statements, HTTP {step.status}{note}")
        for n, sql in enumerate(step.sql, 1):
            shown = sql if len(sql) <= SQL_WIDTH else sql[: SQL_WIDTH - 3] + "..."
            lines.append(f"    {n}. {shown}")
    capability = next(s for s in steps if s.name == "register_client_capabilities")
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
