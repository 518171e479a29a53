"""The bench's users, made before anything is timed (``python -m bench.seed``).

``bin/bench`` runs this against the bench database after migrating it and before starting the
server, with the same settings (``bench.settings``, so the password hashes are MD5). It creates
``--users`` users through the real services, ``hankoflow.services.accounts.create`` with
``passwords.hash_password``: a verified primary email ``u00000@<domain>``, ``u00001@...`` and one
shared password, hashed once with the settings' first hasher and stored for every user (the
bench measures checking a hash, not making one; with Argon2, ``bench.argon2_settings``, a hash per
user would make 15,000 users take half an hour). ``--without-password`` more users
(``n00000@<domain>``, ...) get no password at all: the Argon2 run's failing logins. For the
first ``--sessions`` of the users with a password it issues a session with
``hankoflow.services.sessions.issue`` (as a password login would, ``amr=["pwd"]``), whose JWTs
the ``request.user`` scenario sends as ``Authorization: Bearer``. Everything is written as JSON to
``--out`` for the load generator, with the ids of 100 login flows made in the database store (the
rows of the baseline view, whichever store the server uses).

``--remove DOMAIN`` deletes what a run left behind for the users of ``DOMAIN`` (users, accounts,
emails, sessions, passcodes, their flows, outbox emails and audit rows); ``bin/bench`` calls it
only when it had to use the ``DATABASE_URL`` database itself instead of a throwaway one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

BASELINE_FLOWS = 100  # flow rows for the baseline view (bench.baseline.select_update)
PASSWORD = "bench password 0123"  # noqa: S105 (a bench fixture, hashed with MD5 in bench only)


def email_for(index: int, domain: str) -> str:
    return f"u{index:05d}@{domain}"


def email_without_password(index: int, domain: str) -> str:
    return f"n{index:05d}@{domain}"


def seed(domain: str, users: int, sessions: int, without_password: int = 0) -> dict[str, object]:
    from django.db import transaction
    from django.http import JsonResponse

    from hankoflow.services import accounts, passwords
    from hankoflow.services import sessions as session_service

    emails: list[str] = []
    tokens: list[dict[str, object]] = []
    no_password: list[str] = []
    password_hash = passwords.hash_password(PASSWORD)
    with transaction.atomic():  # one commit, not one per user
        for index in range(users):
            email = email_for(index, domain)
            account = accounts.create(
                uuid.uuid4(),
                email=email,
                email_verified=True,
                username=None,
                password_hash=password_hash,
            )
            emails.append(email)
            if index < sessions:
                issued = session_service.issue(account, amr=["pwd"], env=None, remember_me=None)
                # What bench.baseline.user answers for this token, byte for byte.
                expected = JsonResponse({"user_id": account.user.pk}).content.decode()
                tokens.append({"token": issued.token, "expected": expected})
        for index in range(without_password):
            email = email_without_password(index, domain)
            accounts.create(
                uuid.uuid4(), email=email, email_verified=True, username=None, password_hash=None
            )
            no_password.append(email)
    return {
        "baseline_flows": baseline_flows(BASELINE_FLOWS),
        "domain": domain,
        "password": PASSWORD,
        "password_hash": password_hash,
        "emails": emails,
        "sessions": tokens,
        "without_password": no_password,
    }


def baseline_flows(count: int) -> list[str]:
    """Login flows in the database store whatever ``FLOW_STORE`` says: the rows the bench's
    locked SELECT + UPDATE view works on (with the Redis store, ``POST /login`` makes none)."""
    from hankoflow import clock, names
    from hankoflow.engine import FlowEngine
    from hankoflow.flows.registry import FLOWS
    from hankoflow.services.flow_store import DjangoFlowStore

    engine = FlowEngine(FLOWS[names.FLOW_LOGIN], DjangoFlowStore(), now=clock.now)
    return [str(engine.start().flow_id) for _ in range(count)]


def remove(domain: str) -> int:
    """Delete the bench users of ``domain`` and what their logins wrote; returns the users."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from hankoflow.models import Account, AttemptBudget, AuditLogEntry, Flow, OutboxEmail

    suffix = f"@{domain}"
    with transaction.atomic():
        found = Account.objects.filter(emails__address__endswith=suffix)
        account_ids = list(found.values_list("pk", flat=True))
        user_ids = list(found.values_list("user_id", flat=True))
        Flow.objects.filter(user_id__in=user_ids).delete()
        AuditLogEntry.objects.filter(actor_user_id__in=account_ids).delete()
        OutboxEmail.objects.filter(to__endswith=suffix).delete()
        AttemptBudget.objects.filter(subject__endswith=suffix).delete()  # passcodes: addresses
        AttemptBudget.objects.filter(subject__in=[str(pk) for pk in account_ids]).delete()
        # Cascades to the accounts, their emails, usernames, sessions and passcodes.
        get_user_model()._default_manager.filter(pk__in=user_ids).delete()
    return len(user_ids)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.seed", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--domain", required=True, help="email domain of this run's users")
    parser.add_argument("--users", type=int, default=1500)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument(
        "--without-password", type=int, default=0, help="more users, with no password"
    )
    parser.add_argument("--out", type=Path, help="the JSON file to write (unless --remove)")
    parser.add_argument("--remove", action="store_true", help="delete the users of --domain")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    began = time.perf_counter()
    if args.remove:
        count = remove(args.domain)
        print(f"[bench] removed {count} bench users of {args.domain}", flush=True)
        return 0
    if args.out is None:
        parser.error("--out is required")
    data = seed(args.domain, args.users, min(args.sessions, args.users), args.without_password)
    args.out.write_text(json.dumps(data))
    without = f" (and {args.without_password} without)" if args.without_password else ""
    print(
        f"[bench]   created {args.users} users with passwords{without} and "
        f"{len(data['sessions'])} sessions in {time.perf_counter() - began:.1f}s (not timed)",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
