"""``bin/bench --scale N``: the same scenarios on N times the data, and what cleanup does to it.

At ``--scale N`` ``bin/bench`` seeds N times the users (``SEED_USERS``, 25,000 at 10) and
sessions, and before the server starts this module adds ``N x FLOWS_PER_SCALE`` login flows in
``login_init`` (50,000 at 10; a default run itself leaves some thousands), half of them expired:
abandoned flows older than ``FLOW.TTL``, which is what a busy server's table holds between two
cleanups. After the scenarios ``bin/bench`` prints the row counts and sizes of the flow, session
and audit log tables (``python -m bench.scale sizes``), runs ``manage.py hankoflow_cleanup`` and
prints them again: the expired flows go, the table keeps only live ones.

The flows: one is made through the app (Django's test ``Client`` posting ``/login`` and its
first action, which stores it, with the bench's settings) and copied row by row (``bulk_create``,
new ids and CSRF hashes; a bench fixture written outside the services, as ``bench.seed --remove``
deletes outside them); the expired share then gets ``created_at``/``expires_at`` one TTL and an
hour in the past.

PostgreSQL sizes are ``pg_total_relation_size`` (table, indexes and TOAST). A DELETE frees rows
for reuse but gives no space back to the filesystem until a VACUUM truncates the end of the
table, so the bytes right after cleanup say less than the rows do; ``sizes --vacuum`` runs a
plain VACUUM first, which makes the freed space reusable (autovacuum does it in time), and
``bin/bench`` then adds as many new flows as the cleanup deleted: the table's size stays where it
was. SQLite has no per-table size: rows only.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import uuid
from datetime import timedelta

TABLES = ("hankoflow_flow", "hankoflow_session", "hankoflow_audit_log")
FLOWS_PER_SCALE = 5000  # background flows per unit of --scale
BATCH = 2000


def add_flows(count: int, expired: int) -> None:
    """``count`` login flows in ``login_init`` (a flow is stored from its first action),
    ``expired`` of them past their TTL."""
    from django.db import transaction
    from django.test import Client

    from hankoflow import clock
    from hankoflow.models import Flow

    answer = Client().post(
        "/login", content_type="application/json", headers={"Accept": "application/json"}
    )
    if answer.status_code != 200:
        raise RuntimeError(f"POST /login answered {answer.status_code}: {answer.content[:200]!r}")
    state = answer.json()
    href = state["actions"]["register_client_capabilities"]["href"]
    body = {"input_data": {"webauthn_available": False}, "csrf_token": state["csrf_token"]}
    answer = Client().post(href, json.dumps(body), content_type="application/json")
    if answer.status_code != 200:
        raise RuntimeError(f"{href} answered {answer.status_code}: {answer.content[:200]!r}")
    model = Flow.objects.get(id=href.rsplit("%40", 1)[1])
    ids: list[uuid.UUID] = []
    for start in range(0, count, BATCH):
        rows = [
            Flow(
                id=uuid.uuid4(),
                name=model.name,
                state=model.state,
                stash=model.stash,
                csrf_token_hash=secrets.token_hex(32),
                language=model.language,
                history=model.history,
                expires_at=model.expires_at,
            )
            for _ in range(min(BATCH, count - start))
        ]
        with transaction.atomic():
            Flow.objects.bulk_create(rows)
        ids.extend(row.id for row in rows)
    ttl = model.expires_at - model.created_at
    past = clock.now() - ttl - timedelta(hours=1)
    for start in range(0, expired, BATCH):
        chunk = ids[start : min(start + BATCH, expired)]
        Flow.objects.filter(id__in=chunk).update(created_at=past, expires_at=past + ttl)


def sizes(vacuum: bool = False) -> dict[str, dict[str, int | None]]:
    """Rows and bytes (None on SQLite) of each table of ``TABLES``."""
    from django.db import connection

    found: dict[str, dict[str, int | None]] = {}
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        for table in TABLES:
            if postgres and vacuum:
                cursor.execute(f"VACUUM {table}")  # noqa: S608 (our own table names)
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
            rows = cursor.fetchone()[0]
            size = None
            if postgres:
                cursor.execute("SELECT pg_total_relation_size(%s)", [table])
                size = cursor.fetchone()[0]
            found[table] = {"rows": rows, "bytes": size}
    return found


def describe(label: str, found: dict[str, dict[str, int | None]]) -> list[str]:
    lines = []
    for table, figures in found.items():
        size = figures["bytes"]
        where = f", {size / 2**20:.1f} MB" if size is not None else ""
        lines.append(f"  {label:<22} {table:<22} {figures['rows']:>8} rows{where}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    flows = commands.add_parser("flows", help="add background login flows")
    flows.add_argument("--count", type=int, required=True)
    flows.add_argument("--expired", type=int, default=0)
    measure = commands.add_parser("sizes", help="print rows and sizes as JSON")
    measure.add_argument("--vacuum", action="store_true", help="VACUUM each table first")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    if args.command == "flows":
        add_flows(args.count, min(args.expired, args.count))
    else:
        print(json.dumps(sizes(args.vacuum)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
