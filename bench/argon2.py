"""``bin/bench --argon2``: password logins with the production hasher (Argon2id), next to the
hasher alone, on the same gunicorn configuration (issue 16: "a password login within 10 % of
the hasher's own rate, and the enumeration-safe dummy hash never doubling it").

A second hankoflow server runs with ``bench.argon2_settings`` (the project's ``PASSWORD_HASHERS``:
Argon2id first, Django's parameters) on the bench database, with its own users seeded under
those settings: ``ARGON2_USERS`` with the bench password, ``ARGON2_USERS`` more without one.
Five scenarios, each run twice, interleaved (H I J K L, H I J K L), the better run kept:

H  ``POST /bench/hasher``: one ``check_password`` of the right password against the users'
   Argon2 hash, no database: the hasher's own rate in these workers.
I  ``password_login`` with the right password: the step the hasher runs in, on flows walked to
   ``login_password`` before the clock starts (init, capabilities, email, the chooser's password).
   The target compares this step with H: the other four requests of the chain do not hash, cost
   the same with any hasher and are ``bin/bench``'s E; what Argon2 adds to a login is here.
J  ``password_login`` for an address no account has: the dummy hash (``make_password``), one
   per answer, as on every failing branch (``services/passwords.py``).
K  ``password_login`` for a user without a password: Django's ``check_password`` on an unusable
   hash runs the hasher once on the given password.
L  the whole password chain (5 requests, as ``bin/bench``'s E) with Argon2: for the record.

Targets: ``I/H >= 0.9``; a failing login (J, K) costs one real verify (H), never two:
``H/J`` and ``H/K``, the real verifies one failing answer takes the time of, below 1.5 (one hash
plus the step is about 1.0, a second hash would make it 2.0). How J and K compare with I is
printed with them. Each run lasts twice ``--duration`` (at least 10 s): a login takes a large
part of a second, and the rates count whole answers.
"""

from __future__ import annotations

import json
import math
import secrets
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import run as r

ARGON2_USERS = 1000  # with a password (I, L), and as many without one (K)
SCENARIOS = "HIJKL"
NAMES = {
    "H": "hasher alone: check_password",
    "I": "password_login, right password",
    "J": "password_login, unknown address",
    "K": "password_login, user without password",
    "L": "password login chain (5 requests)",
}
LOGIN_TARGET = 0.9  # I/H
DUMMY_TARGET = 1.5  # H/J and H/K in real verifies: one hash (about 1.0), never two (about 2.0)
MIN_DURATION = 10.0  # seconds per timed run, at least (twice --duration otherwise)
PREWALK_LIMIT = 120.0  # seconds the flows of one scenario may take to walk, at most


@dataclass
class Argon2Seeded:
    password: str
    emails: list[str]  # with the password
    without_password: list[str]
    domain: str


@dataclass
class Argon2Bench:
    port: int
    duration: float
    concurrency: int
    seeded: Argon2Seeded
    results: dict[str, list[r.LoadResult]] = field(default_factory=dict)
    created_ids: set[str] = field(default_factory=set)
    next_user: int = 0  # users with a password, taken in turn by I and L
    next_unknown: int = 0
    next_no_password: int = 0

    def load(self, load: r.Load, duration: float | None = None) -> r.LoadResult:
        result = r.run_load(self.port, load, duration or self.duration, self.concurrency)
        self.created_ids.update(result.created)
        return result

    def walk(self, emails: list[str]) -> list[dict]:
        """Flows at ``login_password`` for these addresses (not timed), in their order."""
        result = self.load(walk_load(emails), duration=PREWALK_LIMIT)
        if result.failed:
            r.log(f"  walking flows: {result.failed} failed ({dict(result.statuses)})")
        return [json.loads(body) for body in result.bodies]

    def take(self, which: str, count: int) -> list[str]:
        """``count`` addresses for scenario ``which``, in turn (from the start again when all
        were used: each user has a session limit of 5, and one login issues one session)."""
        if which in "IK":
            people = self.seeded.emails if which == "I" else self.seeded.without_password
            first = self.next_user if which == "I" else self.next_no_password
            if which == "I":
                self.next_user += count
            else:
                self.next_no_password += count
            return [people[(first + i) % len(people)] for i in range(count)]
        first = self.next_unknown
        self.next_unknown += count
        tag = secrets.token_hex(3)
        return [f"nobody{first + i:06d}-{tag}@{self.seeded.domain}" for i in range(count)]

    def scenario(self, key: str, states: list[dict] | None = None) -> r.LoadResult:
        if key == "H":
            return self.load(hasher_load(10**6))
        if key == "L":
            users = r.Seeded("", self.seeded.password, self.seeded.emails, [])
            result = self.load(r.password_chain_load(users, self.next_user, 10**6))
            self.next_user += result.ok + result.failed
            return result
        assert states is not None
        return self.load(password_step_load(key, states, self.seeded.password))

    def run(self, rounds: int = 2) -> None:
        r.log("argon2: warm-up (not timed)")
        warm = self.load(hasher_load(10**6), duration=2.0)
        for key in "IJK":
            self.load(password_step_load(key, self.walk(self.take(key, 4)), self.seeded.password))
        rate = max(warm.rps, 1.0)
        # Logins run at about the hasher's rate: walk enough flows for a whole timed run.
        want = math.ceil(rate * self.duration * r.POOL_SAFETY) + 2 * self.concurrency
        r.log(f"  estimate: {rate:.1f} hashes/s; {want} flows walked per scenario and round")
        for round_no in range(1, rounds + 1):
            pools = {key: self.walk(self.take(key, want)) for key in "IJK"}
            r.log(f"argon2 round {round_no}/{rounds}")
            for key in SCENARIOS:
                result = self.scenario(key, pools.get(key))
                self.results.setdefault(key, []).append(result)
                note = f", {result.failed} failed {dict(result.statuses)}" if result.failed else ""
                if key in pools and result.ok + result.failed >= len(pools[key]):
                    note += " (flows used up before the time limit)"
                r.log(
                    f"  {key} {result.name}: {result.ok} in {result.elapsed:.2f}s = "
                    f"{result.rps:.1f} {result.unit}{note}"
                )

    def best(self) -> dict[str, r.LoadResult]:
        return {key: max(runs, key=lambda x: x.rps) for key, runs in self.results.items()}

    def table(self) -> str:
        return result_table(self.best(), self.results, SCENARIOS, "H")

    def targets(self) -> list[str]:
        return targets(self.best(), self.results)


def result_table(
    best: dict[str, r.LoadResult], results: dict[str, list[r.LoadResult]], order: str, base: str
) -> str:
    header = (
        f"{'scenario':<42} {'rate':>7} {'unit':<9} {'runs':>13} {'vs ' + base:>6} "
        f"{'p50 ms':>7} {'failed':>6}"
    )
    lines = [header, "-" * len(header)]
    for key in order:
        if key not in best:
            continue
        result = best[key]
        runs = " / ".join(f"{x.rps:.1f}" for x in results[key])
        versus = f"{result.rps / best[base].rps:.2f}" if best[base].rps else "n/a"
        failed = sum(x.failed for x in results[key])
        lines.append(
            f"{key} {NAMES.get(key, result.name):<40} {result.rps:>7.1f} {result.unit:<9} "
            f"{runs:>13} {versus:>6} {result.p50_ms:>7.1f} {failed:>6}"
        )
    return "\n".join(lines)


def targets(best: dict[str, r.LoadResult], results: dict[str, list[r.LoadResult]]) -> list[str]:
    """The Argon2 targets, each a ``Target: ... PASS|FAIL`` line, and what they mean."""
    failed = {key: sum(x.failed for x in runs) for key, runs in results.items()}

    def unreliable(*keys: str) -> str:
        if any(failed.get(key) for key in keys):
            return f" (unreliable: {' or '.join(keys)} had failed answers)"
        return ""

    hasher, login = best["H"].rps, best["I"].rps
    lines = []
    if hasher and login:
        ratio = login / hasher
        verdict = "PASS" if ratio >= LOGIN_TARGET else "FAIL"
        lines.append(
            f"Target: I/H argon2 password_login vs the hasher alone {ratio:.2f} "
            f"(>= {LOGIN_TARGET}) {verdict}{unreliable('H', 'I')}"
        )
    else:
        lines.append("Target: I/H argon2 password_login vs the hasher alone n/a FAIL")
    for key, what in (("J", "unknown address"), ("K", "user without password")):
        dummy = best[key].rps
        if not (dummy and hasher):
            lines.append(f"Target: H/{key} dummy-hash path ({what}) n/a FAIL")
            continue
        cost = hasher / dummy  # the failing login's time per answer, in real verifies
        verdict = "PASS" if cost < DUMMY_TARGET else "FAIL"
        lines.append(
            f"Target: H/{key} dummy-hash path ({what}) {cost:.2f}x a real verify "
            f"(< {DUMMY_TARGET}: one hash, never two) {verdict}{unreliable('H', key)}"
        )
        if login:
            lines.append(f"  {key}: {login / dummy:.2f}x the time of a real login (I)")
    if "L" in best and hasher:
        chain = best["L"].rps
        lines.append(
            f"  L: {chain:.1f} chains/s = {chain / hasher:.2f}x H (the four other requests "
            "of the chain hash nothing; bin/bench's E measures them)"
        )
    return lines


# --- loads ------------------------------------------------------------------------------------


def hasher_load(count: int) -> r.Load:
    return r.Load(
        NAMES["H"],
        lambda i: ("POST", "/bench/hasher", None),
        count,
        check=lambda status, body: status == 200 and body == b'{"ok": true}',
        unit="checks/s",
    )


def walk_load(emails: list[str]) -> r.Load:
    """init, capabilities, the email, the chooser's password: a flow waiting for a password."""

    def perform(conn: r.Client, index: int) -> r.Outcome:
        created = None
        try:
            state = r.flow_step(conn, None, "init", {}, "preflight")
            created = state["actions"]["register_client_capabilities"]["href"].rsplit("%40", 1)[1]
            state = r.flow_step(
                conn, state, "register_client_capabilities", r.CAPABILITIES_BODY, "login_init"
            )
            state = r.flow_step(
                conn,
                state,
                "continue_with_login_identifier",
                {"email": emails[index]},
                "login_method_chooser",
            )
            state = r.flow_step(conn, state, "continue_to_password_login", {}, "login_password")
        except r.ChainFailed as failed:
            return r.Outcome(False, failed.label, created=created)
        return r.Outcome(True, "walked", json.dumps(state).encode(), created=created)

    return r.Load("walk to login_password", None, len(emails), keep_bodies=True, perform=perform)


def password_step_load(key: str, states: list[dict], password: str) -> r.Load:
    """``password_login`` on each flow in turn: I expects ``success``, J and K the password
    refused (HTTP 400, ``login_password`` again, ``value_invalid_error`` on the password)."""
    expect_success = key == "I"
    prepared = [
        (
            state["actions"]["password_login"]["href"],
            json.dumps(
                {"input_data": {"password": password}, "csrf_token": state["csrf_token"]}
            ).encode(),
        )
        for state in states
    ]

    def check(status: int, body: bytes) -> bool:
        if expect_success:
            return status == 200 and b'"name":"success"' in body
        return (
            status == 400
            and b'"name":"login_password"' in body
            and b'"error":{"code":"value_invalid' in body
        )

    make: Callable[[int], r.Request] = lambda i: ("POST", *prepared[i])  # noqa: E731
    return r.Load(NAMES[key], make, len(prepared), check=check, unit="logins/s")


# --- the phase --------------------------------------------------------------------------------


@dataclass
class Phase:
    """What the Argon2 phase measured, for ``bin/bench``'s report and its cleanup."""

    domain: str = ""  # its users' email domain (removed after a run on a shared database)
    bench: Argon2Bench | None = None
    memory: str = ""
    server: str = ""


def run_phase(
    env: dict[str, str], tmp: Path, duration: float, concurrency: int, phase: Phase
) -> None:
    """Seed the Argon2 users, serve them with ``bench.argon2_settings`` and run the scenarios;
    ``phase`` is filled in as it goes (so the caller can clean up after a failure)."""
    argon2_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.argon2_settings"}
    phase.domain = f"argon2-{secrets.token_hex(4)}.bench.example.com"
    seed_file = tmp / "argon2-seed.json"
    subprocess.run(
        [
            r.PYTHON,
            "-m",
            "bench.seed",
            "--domain",
            phase.domain,
            "--users",
            str(ARGON2_USERS),
            "--sessions",
            "0",
            "--without-password",
            str(ARGON2_USERS),
            "--out",
            str(seed_file),
        ],
        cwd=r.ROOT,
        env=argon2_env,
        check=True,
        timeout=300,
    )
    data = json.loads(seed_file.read_text())
    if not data["password_hash"].startswith("argon2$argon2id$"):
        raise RuntimeError(f"the Argon2 users' hash is not Argon2id: {data['password_hash'][:20]}")
    argon2_env["BENCH_PASSWORD_HASH"] = data["password_hash"]
    server = r.Server(argon2_env, tmp / "argon2-gunicorn.log", tmp / "argon2-gunicorn.stderr")
    phase.server = server.describe()
    try:
        server.start()
        r.log(f"argon2: gunicorn listening on {r.HOST}:{server.port} (bench.argon2_settings)")
        seeded = Argon2Seeded(
            data["password"], data["emails"], data["without_password"], phase.domain
        )
        phase.bench = Argon2Bench(server.port, max(2 * duration, MIN_DURATION), concurrency, seeded)
        phase.bench.run()
        phase.memory = server.worker_memory()
    finally:
        server.stop()


def report(phase: Phase) -> list[str]:
    assert phase.bench is not None
    return [
        "",
        f"Argon2id (production hasher, bench.argon2_settings; {phase.server}; best of 2 "
        "interleaved runs):",
        phase.bench.table(),
        "H: POST /bench/hasher, one check_password against the users' Argon2id hash, no database.",
        "I, J, K: the password_login request alone, on flows walked to login_password before the",
        "         clock starts; J and K answer value_invalid after one dummy hash.",
        "L: Hanko's whole password chain as E, with Argon2id.",
        "",
        *phase.bench.targets(),
        f"Memory per worker after the Argon2 run ({phase.server}): {phase.memory}",
    ]
