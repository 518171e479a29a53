"""Where a login step's time goes: ``python -m bench.profile`` (in-process, not timed by the bench).

Runs Hanko's password and passcode login chains and ``request.user`` from a session JWT through
Django's test ``Client`` (the whole middleware stack, no gunicorn, no sockets) with
``bench.settings``, on a throwaway PostgreSQL database next to the one in ``DATABASE_URL``
(``eval "$(bin/services env)"`` first), dropped at the end. Each request is run ``--chains``
times twice: once plain, for its mean wall time and the share spent waiting in SQL (a Django
``execute_wrapper``), once under cProfile, whose self time is summed per bucket of code
(SQL driver, Django ORM, hankoflow's engine, its services, JWT and crypto, templates, ...).
cProfile slows pure-Python code more than C code, so read the buckets as shares, not as ms.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import secrets
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

# (bucket, substrings of a function's file name), first match wins; "other" for the rest.
BUCKETS = (
    ("SQL driver (psycopg, wire + wait)", ("psycopg",)),
    ("Django ORM / db", ("django/db/",)),
    ("hankoflow engine", ("hankoflow/engine/",)),
    (
        "hankoflow flows/actions/hooks/steps",
        ("hankoflow/flows", "hankoflow/actions", "hankoflow/hooks", "hankoflow/steps"),
    ),
    ("hankoflow services", ("hankoflow/services/",)),
    (
        "hankoflow http/api/middleware",
        ("hankoflow/http/", "hankoflow/api/", "hankoflow/middleware"),
    ),
    ("hankoflow other", ("hankoflow/",)),
    ("JWT / crypto", ("jwcrypto", "cryptography", "/jwt/")),
    ("password hash", ("hashers.py", "hashlib")),
    ("templates / email / celery", ("django/template", "django/core/mail", "celery", "kombu")),
    ("DRF", ("rest_framework",)),
    ("Django request/middleware/other", ("django/",)),
    ("json", ("json/",)),
)


def bucket_of(filename: str) -> str:
    for name, needles in BUCKETS:
        if any(needle in filename for needle in needles):
            return name
    return "other (stdlib, builtins)"


class Step:
    def __init__(self, name: str) -> None:
        self.name = name
        self.wall: list[float] = []
        self.sql_time: list[float] = []
        self.sql_count: list[int] = []
        self.profile = cProfile.Profile()


def run(chains: int, mail: Path) -> list[Step]:
    from django.db import connection
    from django.test import Client

    from bench.mail import read_code
    from bench.seed import PASSWORD, seed

    domain = f"profile-{secrets.token_hex(4)}.bench.example.com"
    seeded = seed(domain, chains * 2 + 1, 20)
    emails = seeded["emails"]
    tokens = [s["token"] for s in seeded["sessions"]]
    steps: dict[str, Step] = {}
    profiling = False

    def timed(name: str, call: Callable[[], object]) -> object:
        step = steps.setdefault(name, Step(name))
        sql = [0.0, 0]

        def wrapper(execute, query, params, many, context):
            began = time.perf_counter()
            try:
                return execute(query, params, many, context)
            finally:
                sql[0] += time.perf_counter() - began
                sql[1] += 1

        with connection.execute_wrapper(wrapper):
            began = time.perf_counter()
            if profiling:
                step.profile.enable()
            result = call()
            if profiling:
                step.profile.disable()
            elapsed = time.perf_counter() - began
        if not profiling:
            step.wall.append(elapsed)
            step.sql_time.append(sql[0])
            step.sql_count.append(sql[1])
        return result

    def post(client: Client, name: str, path: str, body: dict | None, expect: str) -> dict:
        data = json.dumps(body) if body is not None else ""
        response = timed(
            name, lambda: client.post(path, data=data, content_type="application/json")
        )
        answer = response.json()
        if response.status_code != 200 or answer.get("name") != expect:
            raise RuntimeError(f"{name}: HTTP {response.status_code} {answer.get('name')}")
        return answer

    def step(client: Client, state: dict, action: str, inputs: dict, expect: str, label: str):
        href = state["actions"][action]["href"]
        body = {"input_data": inputs, "csrf_token": state["csrf_token"]}
        return post(client, label, href, body, expect)

    def chain(email: str, method: str) -> None:
        client = Client()
        p = f"{method}: "
        state = post(client, p + "POST /login", "/login", None, "preflight")
        state = step(
            client,
            state,
            "register_client_capabilities",
            {"webauthn_available": False},
            "login_init",
            p + "capabilities",
        )
        state = step(
            client,
            state,
            "continue_with_login_identifier",
            {"email": email},
            "login_method_chooser",
            p + "identifier",
        )
        if method == "password":
            state = step(
                client,
                state,
                "continue_to_password_login",
                {},
                "login_password",
                p + "chooser -> password",
            )
            step(
                client,
                state,
                "password_login",
                {"password": PASSWORD},
                "success",
                p + "password_login",
            )
        else:
            state = step(
                client,
                state,
                "continue_to_passcode_confirmation",
                {},
                "passcode_confirmation",
                p + "chooser -> passcode (sends email)",
            )
            code = read_code(mail, email)
            step(client, state, "verify_passcode", {"code": code}, "success", p + "verify_passcode")

    def user(token: str) -> None:
        client = Client()
        response = timed(
            "request.user from session JWT",
            lambda: client.post("/bench/user", headers={"Authorization": f"Bearer {token}"}),
        )
        if response.status_code != 200:
            raise RuntimeError(f"request.user: HTTP {response.status_code}")

    chain(emails[-1], "password")  # warm: imports, signing key, caches
    chain(emails[-1], "passcode")
    for round_no in range(2):  # plain, then profiled
        profiling = round_no == 1
        for index in range(chains):
            chain(emails[index], "password")
            chain(emails[chains + index], "passcode")
            user(tokens[index % len(tokens)])
    return list(steps.values())


def report(steps: list[Step], chains: int) -> str:
    lines = [
        f"Per request, mean of {chains} (in-process test Client, bench.settings, PostgreSQL):",
        f"{'request':<45} {'ms':>6} {'SQL ms':>7} {'SQL %':>5} {'stmts':>5}",
    ]
    for step in steps:
        wall = statistics.mean(step.wall) * 1000
        sql = statistics.mean(step.sql_time) * 1000
        count = statistics.mean(step.sql_count)
        lines.append(f"{step.name:<45} {wall:>6.2f} {sql:>7.2f} {sql / wall:>5.0%} {count:>5.1f}")
    lines.append("")
    lines.append("Self time per bucket under cProfile (share of the request's profiled time):")
    for step in steps:
        stats = pstats.Stats(step.profile)
        per_bucket: dict[str, float] = defaultdict(float)
        for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():
            per_bucket[bucket_of(filename)] += tottime
        total = sum(per_bucket.values()) or 1.0
        top = sorted(per_bucket.items(), key=lambda item: -item[1])[:6]
        lines.append(
            f"  {step.name}: " + ", ".join(f"{name} {share / total:.0%}" for name, share in top)
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--chains", type=int, default=100)
    parser.add_argument("--dump", type=Path, help="also write each request's pstats here")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    from bench.run import postgres_database

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres", "pgsql")):
        print('bench.profile needs DATABASE_URL (eval "$(bin/services env)")', file=sys.stderr)
        return 1
    database = postgres_database(url, label="profile")
    if database.drop is None:
        print("bench.profile: cannot create a throwaway database", file=sys.stderr)
        return 1
    mail = Path(tempfile.mkdtemp(prefix="hankoflow-profile-mail-"))
    os.environ.update(
        DATABASE_URL=database.url,
        DJANGO_SETTINGS_MODULE="bench.settings",
        BENCH_MAIL_DIR=str(mail),
        SECRET_KEY=secrets.token_urlsafe(50),
    )
    try:
        import django
        from django.core.management import call_command
        from django.test.utils import override_settings

        django.setup()
        call_command("migrate", "--noinput", verbosity=0)
        with override_settings(ALLOWED_HOSTS=["*"]):
            steps = run(args.chains, mail)
        print(report(steps, args.chains), flush=True)
        if args.dump:
            args.dump.mkdir(parents=True, exist_ok=True)
            for step in steps:
                name = "".join(c if c.isalnum() else "_" for c in step.name)
                step.profile.dump_stats(args.dump / f"{name}.pstats")
        return 0
    finally:
        from django.db import connections

        connections.close_all()
        database.drop()


if __name__ == "__main__":
    sys.exit(main())
