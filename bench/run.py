"""``bin/bench``: Flow API steps and login chains against a bare SELECT+UPDATE view, same server.

What it does, in order:

1. Picks the database: ``--db sqlite`` a fresh SQLite file in a temp dir; otherwise
   ``DATABASE_URL`` when set (``bin/bench`` exports ``bin/services env`` when its PostgreSQL is
   up). On PostgreSQL the run uses a throwaway database created next to the one named in the URL
   (dropped at the end), so the developer database gets no bench rows; if it cannot be created,
   the named database itself is used and the bench deletes the flows it created.
2. Migrates it, creates the login chains' users and sessions (``python -m bench.seed``: 2500
   users with a password, sessions for 100 of them, through hankoflow's own services; the
   chains log in the others, so ``SESSION.LIMIT`` never ends those sessions), and
   serves the app with gunicorn (2 sync workers, 127.0.0.1, a free port),
   ``DJANGO_SETTINGS_MODULE=bench.settings`` (DEBUG off, bench routes, no request logs; MD5
   password hasher, rate limiter off, Celery eager, passcodes to files: bench only, see there)
   and a random SECRET_KEY made for this run.
3. Warms up, pre-creates flows (``POST /login``), then runs seven scenarios twice, interleaved
   (A..G A..G), each bounded by a request count and a time limit, and keeps the better run:
   A the baseline view, B ``register_client_capabilities`` on pre-created ``preflight`` flows,
   C ``POST /login``, D the no-database ``bench/hello`` view, E Hanko's password login chain and
   F its passcode login chain (chains/s: ``POST /login``, capabilities, email, the method
   chooser's password | passcode, ``password_login`` | ``verify_passcode`` with the emailed
   code; each chain on a user no chain used yet), G ``bench/user`` answering
   ``request.user.pk`` from a session JWT sent as ``Authorization: Bearer``.
   With the peer (unless ``--no-peer``), django-allauth in headless mode (``bench/peer/``, in its
   own virtualenv ``.run/bench-allauth-venv`` built from PyPI on first use; skipped with a
   message when it cannot be built): its own database on the same server, its own 2500 users,
   served by the same gunicorn command, and four more scenarios, each run right after ours it
   is compared with (A B C D S E P F Q G R): S its no-database view, P its one-request password
   login, Q its code login (request + confirm with the emailed code), R its stateless JWT check
   in a DRF view. The peer limits failed sign-ins per email (allauth's ``login_failed``), as
   ours does with its attempt budgets (``bench/peer/settings.py``). The load generator is this
   process: ``--concurrency`` threads, each with one connection of ``bench.client`` (a
   raw-socket HTTP/1.1 client: it shares the box's CPU with the server, so it is kept lean).
4. Prints the table; then, for the same best runs, where the box's CPU went per unit
   (``bench.cpu``, from /proc: the scenario's gunicorn workers, PostgreSQL, Redis, the load
   generator, the rest, the box's busy time) and, per peer target, both sides' server CPU per
   unit (workers + PostgreSQL + Redis) next to the throughput ratio; then the throughput
   targets (B/A >= 0.6, E/A >= 0.25, G/D >= 0.5; with the peer, issue 16's G/R >= 0.8,
   E/P >= 0.6, F/Q >= 0.8), each as ``Target: <name> <ratio> (>= <goal>) PASS|FAIL``, then runs
   ``python -m bench.queries`` against the same database for the SQL statement counts.

5. Prints each worker's memory after the run (RSS and PSS from /proc, ``bench.memory``).

Options that add to the default run (its scenarios, duration and output stay as they are):

* ``--peer-without-failed-login-limit``: the peer with allauth's failed-login limit off too, as
  in the bench's runs before issue 16's sixth pass (ours keeps its attempt budgets: no setting
  turns them off).
* ``--argon2``: then password logins with the production hasher, Argon2id, next to the hasher
  alone, on a second server with ``bench.argon2_settings`` (``bench/argon2.py``).
* ``--workers-compare``: every one of our scenarios also on gunicorn ``gthread`` workers (same
  count, ``GTHREAD_THREADS`` threads each), right after it ran on the sync ones, once with the
  client keeping its connection and once with a new connection per request.
* ``--flow-store database|redis``: where our server keeps flows (``HANKOFLOW["FLOW_STORE"]``
  through ``HANKOFLOW_FLOW_STORE``; default: that variable, else ``database``). ``redis`` needs a
  Redis cache (``CACHE_URL``/``REDIS_URL``, as ``bin/services env`` sets).
* ``--stores-compare``: every one of our scenarios also on a second server keeping flows in the
  other store, right after it ran on the main server.
* ``--scale N``: N times the users and sessions and ``N x bench.scale.FLOWS_PER_SCALE`` login
  flows, half of them expired, before the run; after it the flow, session and audit log tables'
  rows and sizes, before and after ``manage.py hankoflow_cleanup`` (``bench/scale.py``).

It measures, it does not judge: the exit code is 0 even when a target is missed (1 only if the
bench could not run at all).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bench import cpu
from bench.client import JSON, Client, header_block
from bench.mail import read_code

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
# (numerator, denominator, target ratio, name): the issues' throughput targets.
TARGETS = (
    ("B", "A", 0.6, "B/A register_client_capabilities vs baseline SELECT+UPDATE"),
    ("E", "A", 0.25, "E/A password chains/s vs baseline req/s"),
    ("G", "D", 0.5, "G/D request.user from JWT vs hello"),
)
# Against the peer, django-allauth headless measured in the same run (issue 16).
PEER_TARGETS = (
    ("G", "R", 0.8, "G/R request.user vs allauth's JWT check"),
    ("E", "P", 0.6, "E/P password chain vs allauth's one-request login"),
    ("F", "Q", 0.8, "F/Q passcode chain vs allauth's code login"),
)
CHAIN_REQUESTS = 5  # init + 4 persisted steps (capabilities, identifier, chooser, credential)
SEED_USERS = 2500  # users bench.seed creates (with passwords) for the login chains: enough
# that a run's chains (about 6,000) give no user more than SESSION.LIMIT sessions
SEED_SESSIONS = 100  # of which this many get a session for the request.user scenario
WORKERS = 2
GTHREAD_THREADS = 4  # --workers-compare: threads per gthread worker
FLOW_STORES = ("database", "redis")  # HANKOFLOW["FLOW_STORE"]'s values
SERVICE_VARS = (
    "DATABASE_URL",
    "CACHE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
)
# A browser without WebAuthn: with passkeys, Hanko's defaults would add passkey onboarding after
# the password (a different chain); the chains here are the password and passcode logins alone.
CAPABILITIES_BODY = {"webauthn_available": False}
POOL_SAFETY = 1.4  # pre-create this many times the flows the estimated rate needs
POOL_CREATE_LIMIT = 20.0  # seconds that pre-creating one pool may take at most
LOG_RECORD = re.compile(r"^(?=Internal Server Error: |action \S+ on flow )", re.MULTILINE)
EXCEPTION_LINE = re.compile(r"^[\w.]+(Error|Exception)\b")
FLOW_ID = re.compile(rb"%40([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


# --- database ---------------------------------------------------------------------------------


@dataclass
class Database:
    url: str
    description: str
    vendor: str  # "sqlite" or "postgresql"
    drop: Callable[[], None] | None = None  # removes a throwaway database
    delete_created: bool = False  # a shared database: delete the bench's flows at the end


def sqlite_database(tmp: Path) -> Database:
    path = tmp / "bench.sqlite3"
    return Database(f"sqlite:///{path}", f"SQLite file {path} (fresh, migrated)", "sqlite")


def _pg_params(url: str) -> dict[str, object]:
    import environ

    config = environ.Env.db_url_config(url)
    return {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "dbname": config.get("NAME"),
    }


def postgres_database(url: str, label: str = "bench") -> Database:
    import psycopg
    from psycopg import sql

    params = _pg_params(url)
    parts = urlsplit(url)
    where = f"{parts.hostname}:{parts.port or 5432}"
    with psycopg.connect(**params, autocommit=True, connect_timeout=5) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        name = f"{params['dbname']}_{label}_{secrets.token_hex(4)}"
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            log(
                f"cannot create a throwaway database ({exc.__class__.__name__}: {exc}".strip()
                + "); using the DATABASE_URL database itself and deleting the bench's rows after"
            )
            return Database(
                url,
                f"PostgreSQL {version} at {where}, database {params['dbname']} (from DATABASE_URL)",
                "postgresql",
                delete_created=True,
            )

    def drop() -> None:
        with psycopg.connect(**params, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    return Database(
        parts._replace(path=f"/{name}").geturl(),
        f"PostgreSQL {version} at {where} (from DATABASE_URL), throwaway database {name}",
        "postgresql",
        drop=drop,
    )


def delete_flows(url: str, flow_ids: set[str]) -> None:
    import psycopg

    ids = sorted(flow_ids)
    with psycopg.connect(**_pg_params(url), autocommit=True, connect_timeout=5) as conn:
        for start in range(0, len(ids), 5000):
            conn.execute(
                "DELETE FROM hankoflow_flow WHERE id = ANY(%s::uuid[])", [ids[start : start + 5000]]
            )


# --- the server -------------------------------------------------------------------------------


class Server:
    """gunicorn serving ``app`` (hankoflow's ``project.wsgi``, or the peer's) with ``python``
    (the .venv's, or the peer's virtualenv's) on a free 127.0.0.1 port, one configuration for
    both."""

    def __init__(
        self,
        env: dict[str, str],
        logfile: Path,
        stderr_file: Path,
        python: str = PYTHON,
        app: str = "project.wsgi:application",
        worker_class: str = "sync",
        threads: int = 1,
        store: str = "",
    ) -> None:
        self.env = env
        self.store = store  # named in describe() when it differs from the main server's
        self.worker_class = worker_class
        self.threads = threads
        self.python = python
        self.app = app
        self.logfile = logfile  # gunicorn's own log: boot, workers
        self.stderr_file = stderr_file  # the workers' stderr: Django's error log, tracebacks
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        cmd = [
            self.python,
            "-m",
            "gunicorn",
            self.app,
            "--bind",
            f"{HOST}:0",  # the kernel picks a free port; the log says which
            "--workers",
            str(WORKERS),
            "--worker-class",
            self.worker_class,
            *(["--threads", str(self.threads)] if self.threads > 1 else []),
            "--timeout",
            "30",
            "--graceful-timeout",
            "5",
            "--log-level",
            "info",
            "--error-logfile",
            str(self.logfile),
            "--no-control-socket",
        ]  # no --access-logfile: gunicorn then logs no line per request
        with self.stderr_file.open("wb") as stderr:
            self.proc = subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not self.port:
            self._check_alive()
            match = re.search(r"Listening at: http://[^:]+:(\d+)", self._log())
            if match:
                self.port = int(match.group(1))
            elif time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start listening:\n" + self.log_tail())
            else:
                time.sleep(0.1)
        # Both workers import Django on boot; wait until a request goes through.
        while True:
            self._check_alive()
            try:
                status, _ = request_once(self.port, "GET", "/bench/hello")
                if status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn does not answer /bench/hello:\n" + self.log_tail())
            time.sleep(0.1)

    def _check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")

    def _log(self) -> str:
        return _read(self.logfile)

    def log_tail(self, lines: int = 30) -> str:
        text = self._log() + _read(self.stderr_file)
        return "\n".join(text.splitlines()[-lines:])

    def error_counts(self) -> Counter[str]:
        """Exceptions in the workers' log records, as "record: final exception" (the bench
        settings log nothing else from Django and hankoflow)."""
        counts: Counter[str] = Counter()
        for record in LOG_RECORD.split(_read(self.stderr_file)):
            lines = record.splitlines()
            raised = [line for line in lines[1:] if EXCEPTION_LINE.match(line)]
            if lines and raised:  # Django's own line for a 500 carries no traceback: skipped
                head = re.sub(r"[0-9a-f-]{32,36}", "<id>", lines[0].strip())
                counts[f"{head} -> {raised[-1][:100]}"] += 1
        return counts

    def describe(self) -> str:
        threads = f" x {self.threads} threads" if self.threads > 1 else ""
        store = f", flow store {self.store}" if self.store else ""
        return f"{WORKERS} {self.worker_class} workers{threads}{store}"

    def worker_memory(self) -> str:
        """Each worker's RSS and PSS now (``bench.memory``)."""
        from bench import memory

        if self.proc is None or self.proc.poll() is not None:
            return "not measured (server not running)"
        return memory.describe(memory.workers(self.proc.pid))

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def request_once(port: int, method: str, path: str) -> tuple[int, bytes]:
    client = Client(HOST, port, timeout=5)
    try:
        return client.request(method, path)
    finally:
        client.close()


# --- the load generator -----------------------------------------------------------------------

# One request: (method, path, body). The check decides whether an answer counts as done.
Request = tuple[str, str, bytes | None]


@dataclass
class Outcome:
    """What one unit of a load (a request, or a whole login chain) came to."""

    ok: bool
    label: str  # the status counted in LoadResult.statuses, e.g. "200" or "identifier:400"
    body: bytes = b""  # kept (when ok) if the load keeps bodies
    created: str | None = None  # id of a flow the unit created (deleted after a shared-DB run)


@dataclass
class Load:
    """``count`` units at most: a request from ``make`` judged by ``check``, or, when
    ``perform`` is given, whatever it does on the connection (e.g. a chain of requests)."""

    name: str
    make: Callable[[int], Request] | None  # the i-th request of the run
    count: int  # at most this many units
    check: Callable[[int, bytes], bool] = lambda status, body: status == 200
    keep_bodies: bool = False
    perform: Callable[[Client, int], Outcome] | None = None
    unit: str = "req/s"


@dataclass
class LoadResult:
    name: str
    ok: int
    failed: int
    elapsed: float
    latencies: list[float]
    statuses: Counter[str] = field(default_factory=Counter)
    bodies: list[bytes] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    unit: str = "req/s"
    cpu: cpu.Usage | None = None  # where the box's CPU went during the run (bench.cpu)
    requests: int = 0  # HTTP requests the load generator made (a chain makes several)

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def attempts_per_s(self) -> float:
        return (self.ok + self.failed) / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else 0.0


def run_load(
    port: int, load: Load, duration: float, concurrency: int, close: bool = False
) -> LoadResult:
    """``concurrency`` threads, one HTTP/1.1 connection each, until ``load.count`` requests are
    taken or ``duration`` seconds have passed; requests in flight then finish and count.

    Connections are keep-alive from the client side; gunicorn's sync workers answer every request
    with ``Connection: close``, so the client (``bench.client``) reconnects for the next one (every
    scenario alike). ``close``: the client asks for that itself, for any worker class.
    """
    lock = threading.Lock()
    taken = 0
    ok = failed = 0
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    bodies: list[bytes] = []
    created: list[str] = []
    finished: list[float] = []
    requests: list[int] = []
    start_barrier = threading.Barrier(concurrency + 1)
    start = deadline = 0.0

    def worker() -> None:
        nonlocal taken, ok, failed
        conn = Client(HOST, port, timeout=30, close=close)
        my_latencies: list[float] = []
        my_ok = my_failed = 0
        my_statuses: Counter[str] = Counter()
        my_bodies: list[bytes] = []
        my_created: list[str] = []
        perform = load.perform or functools.partial(_perform_request, load)
        start_barrier.wait()
        while True:
            if time.perf_counter() >= deadline:
                break
            with lock:
                index = taken
                taken += 1
            if index >= load.count:
                break
            began = time.perf_counter()
            try:
                outcome = perform(conn, index)
            except (OSError, ValueError, KeyError) as exc:
                # ValueError/KeyError: a chain met an answer it could not read (not JSON, no
                # such action); OSError: the connection failed or its answer was not HTTP.
                conn.close()
                my_failed += 1
                my_statuses[exc.__class__.__name__] += 1
                continue
            my_latencies.append(time.perf_counter() - began)
            my_statuses[outcome.label] += 1
            if outcome.created:
                my_created.append(outcome.created)
            if outcome.ok:
                my_ok += 1
                if load.keep_bodies:
                    my_bodies.append(outcome.body)
            else:
                my_failed += 1
        conn.close()
        with lock:
            ok += my_ok
            failed += my_failed
            latencies.extend(my_latencies)
            statuses.update(my_statuses)
            bodies.extend(my_bodies)
            created.extend(my_created)
            finished.append(time.perf_counter())
            requests.append(conn.requests)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    deadline = start + duration
    start_barrier.wait()
    for thread in threads:
        thread.join(duration + 60)
    elapsed = (max(finished) if finished else time.perf_counter()) - start
    return LoadResult(
        load.name,
        ok,
        failed,
        elapsed,
        latencies,
        statuses,
        bodies,
        created,
        load.unit,
        requests=sum(requests),
    )


def _perform_request(load: Load, conn: Client, index: int) -> Outcome:
    assert load.make is not None
    method, path, body = load.make(index)
    status, data = conn.request(method, path, body)
    return Outcome(load.check(status, data), str(status), data)


# --- the scenarios ----------------------------------------------------------------------------


@dataclass
class PoolFlow:
    id: str
    href: str
    csrf_token: str


def parse_flow(body: bytes) -> PoolFlow:
    state = json.loads(body)
    href = state["actions"]["register_client_capabilities"]["href"]
    return PoolFlow(href.rsplit("%40", 1)[1], href, state["csrf_token"])


def init_load(count: int, keep_bodies: bool = True) -> Load:
    return Load(
        "POST /login (init)",
        lambda i: ("POST", "/login", None),
        count,
        check=lambda status, body: status == 200 and b'"name":"preflight"' in body,
        keep_bodies=keep_bodies,
    )


def capability_load(pool: list[PoolFlow]) -> Load:
    bodies = [
        json.dumps({"input_data": CAPABILITIES_BODY, "csrf_token": flow.csrf_token}).encode()
        for flow in pool
    ]
    return Load(
        "register_client_capabilities",
        lambda i: ("POST", pool[i].href, bodies[i]),
        len(pool),
        check=lambda status, body: status == 200 and b'"name":"login_init"' in body,
    )


def baseline_load(flow_ids: list[str], count: int) -> Load:
    return Load(
        "baseline SELECT+UPDATE",
        lambda i: ("POST", f"/bench/baseline/{flow_ids[i % len(flow_ids)]}", None),
        count,
    )


def hello_load(count: int) -> Load:
    return Load("hello (no DB)", lambda i: ("POST", "/bench/hello", None), count)


@dataclass
class Seeded:
    """What ``bench.seed`` made: users with one password, and sessions for ``user_load``."""

    domain: str
    password: str
    emails: list[str]
    sessions: list[dict[str, str]]  # {"token": JWT, "expected": bench.baseline.user's answer}
    baseline_flows: list[str] = field(default_factory=list)  # database rows, baseline view

    @property
    def login_emails(self) -> list[str]:
        """The users the login scenarios take in turn: all but the first ``len(sessions)``,
        whose sessions the request.user scenario sends. Their logins would add sessions until
        ``SESSION.LIMIT`` (5) ended the oldest, the very ones it sends."""
        return self.emails[len(self.sessions) :]

    def login_user(self, index: int) -> str:
        users = self.login_emails
        return users[index % len(users)]

    @classmethod
    def read(cls, path: Path) -> Seeded:
        data = json.loads(path.read_text())
        return cls(
            data["domain"],
            data["password"],
            data["emails"],
            data["sessions"],
            data.get("baseline_flows", []),
        )


class ChainFailed(Exception):
    def __init__(self, label: str) -> None:
        super().__init__(label)
        self.label = label


def flow_step(
    conn: Client,
    state: dict | None,
    action: str,
    inputs: dict[str, object],
    expect: str,
) -> dict:
    """One Flow API request as hanko-elements makes it (``state`` None: ``POST /login``);
    the answer must be HTTP 200 with state ``expect``, else ``ChainFailed("<action>:<status>")``."""
    if state is None:
        path, body = "/login", None
    else:
        path = state["actions"][action]["href"]
        body = json.dumps({"input_data": inputs, "csrf_token": state["csrf_token"]}).encode()
    status, data = conn.request("POST", path, body)
    if status != 200:
        raise ChainFailed(f"{action}:{status}")
    answer = json.loads(data)
    if answer.get("name") != expect:
        raise ChainFailed(f"{action}:{answer.get('name')}")
    return answer


# The steps of both login chains, as hanko-elements takes them with Hanko's default config
# (email identifier, passwords enabled, so login_method_chooser comes before the method).
CHAIN_STEPS = (
    "init",
    "register_client_capabilities",
    "continue_with_login_identifier",
    "continue_to_password_login | continue_to_passcode_confirmation",
    "password_login | verify_passcode",
)


def login_chain(conn: Client, email: str, finish: Callable[[dict], dict]) -> Outcome:
    created = None
    try:
        state = flow_step(conn, None, "init", {}, "preflight")
        created = state["actions"]["register_client_capabilities"]["href"].rsplit("%40", 1)[1]
        state = flow_step(
            conn, state, "register_client_capabilities", CAPABILITIES_BODY, "login_init"
        )
        state = flow_step(
            conn, state, "continue_with_login_identifier", {"email": email}, "login_method_chooser"
        )
        finish(state)
    except ChainFailed as failed:
        return Outcome(False, failed.label, created=created)
    return Outcome(True, "chain ok", created=created)


def password_chain_load(seeded: Seeded, first_user: int, count: int) -> Load:
    """init, capabilities, identifier, method chooser's password login, password: 5 requests."""

    def perform(conn: Client, index: int) -> Outcome:
        def finish(state: dict) -> dict:
            state = flow_step(conn, state, "continue_to_password_login", {}, "login_password")
            return flow_step(
                conn, state, "password_login", {"password": seeded.password}, "success"
            )

        email = seeded.login_user(first_user + index)
        return login_chain(conn, email, finish)

    return Load("password login chain (5 requests)", None, count, perform=perform, unit="chains/s")


def passcode_chain_load(seeded: Seeded, first_user: int, count: int, mail: Path) -> Load:
    """init, capabilities, identifier, method chooser's passcode, the emailed code: 5 requests.
    The code is read from the file ``bench.mail.CodeFileBackend`` wrote before the answer."""

    def perform(conn: Client, index: int) -> Outcome:
        email = seeded.login_user(first_user + index)

        def finish(state: dict) -> dict:
            state = flow_step(
                conn, state, "continue_to_passcode_confirmation", {}, "passcode_confirmation"
            )
            code = read_code(mail, email)
            if code is None:
                raise ChainFailed("no code emailed")
            return flow_step(conn, state, "verify_passcode", {"code": code}, "success")

        return login_chain(conn, email, finish)

    return Load("passcode login chain (5 requests)", None, count, perform=perform, unit="chains/s")


def user_load(seeded: Seeded, count: int) -> Load:
    """``POST /bench/user`` with ``Authorization: Bearer <session JWT>``, the seeded sessions
    in turn; counts only answers naming that session's user."""
    prepared = [
        (JSON + header_block({"Authorization": f"Bearer {s['token']}"}), s["expected"].encode())
        for s in seeded.sessions
    ]

    def perform(conn: Client, index: int) -> Outcome:
        headers, expected = prepared[index % len(prepared)]
        status, data = conn.request("POST", "/bench/user", headers=headers)
        return Outcome(status == 200 and data == expected, str(status))

    return Load("request.user from session JWT", None, count, perform=perform)


# --- the peer's scenarios: django-allauth headless, app client (bench/peer/) ---------------------

PEER_LOGIN = "/_allauth/app/v1/auth/login"
PEER_CODE_REQUEST = "/_allauth/app/v1/auth/code/request"
PEER_CODE_CONFIRM = "/_allauth/app/v1/auth/code/confirm"


def peer_post(conn: Client, path: str, body: dict, headers: bytes = JSON) -> tuple[int, bytes]:
    return conn.request("POST", path, json.dumps(body).encode(), headers)


def peer_password_load(seeded: Seeded, first_user: int, count: int) -> Load:
    """allauth's one-request password login: 200, authenticated, with a JWT access token."""

    def perform(conn: Client, index: int) -> Outcome:
        email = seeded.login_user(first_user + index)
        status, data = peer_post(conn, PEER_LOGIN, {"email": email, "password": seeded.password})
        return Outcome(status == 200 and b'"access_token"' in data, str(status))

    return Load("allauth password login (1 request)", None, count, perform=perform, unit="logins/s")


def peer_code_load(seeded: Seeded, first_user: int, count: int, mail: Path) -> Load:
    """allauth's code login: request a code (401, login_by_code pending, a session token), then
    confirm the emailed code with that token (200 with a JWT access token): 2 requests."""

    def perform(conn: Client, index: int) -> Outcome:
        email = seeded.login_user(first_user + index)
        status, data = peer_post(conn, PEER_CODE_REQUEST, {"email": email})
        answer = json.loads(data) if status == 401 else {}
        pending = [f["id"] for f in answer.get("data", {}).get("flows", ()) if f.get("is_pending")]
        if pending != ["login_by_code"]:
            return Outcome(False, f"code/request:{status}")
        session_token = answer["meta"]["session_token"]
        code = read_code(mail, email)
        if code is None:
            return Outcome(False, "no code emailed")
        status, data = peer_post(
            conn,
            PEER_CODE_CONFIRM,
            {"code": code},
            JSON + header_block({"X-Session-Token": session_token}),
        )
        return Outcome(status == 200 and b'"access_token"' in data, f"code/confirm:{status}")

    return Load("allauth code login (2 requests)", None, count, perform=perform, unit="chains/s")


def peer_tokens(port: int, seeded: Seeded, count: int) -> list[dict[str, str]]:
    """JWT access tokens of ``count`` peer users, from real password logins (not timed)."""
    tokens = []
    conn = Client(HOST, port, timeout=30)
    try:
        for email in seeded.emails[:count]:
            status, data = peer_post(
                conn, PEER_LOGIN, {"email": email, "password": seeded.password}
            )
            if status != 200:
                raise RuntimeError(f"peer password login answered {status}: {data[:300]!r}")
            answer = json.loads(data)
            # What bench/peer/urls.py's UserView answers for this token, byte for byte.
            expected = json.dumps({"user_id": answer["data"]["user"]["id"]})
            tokens.append({"token": answer["meta"]["access_token"], "expected": expected})
    finally:
        conn.close()
    return tokens


def peer_jwt_load(tokens: list[dict[str, str]], count: int) -> Load:
    load = user_load(Seeded("", "", [], tokens), count)
    load.name = "allauth JWT check (DRF view)"
    return load


def peer_hello_load(count: int) -> Load:
    load = hello_load(count)
    load.name = "allauth's hello (no DB)"
    return load


SCENARIOS = "ABCDEFG"  # the order of each round
# With the peer, each peer scenario runs right after the one of ours it is compared with, so
# machine noise hits both alike: A B C D S E P F Q G R.
PEER_AFTER = {"D": "S", "E": "P", "F": "Q", "G": "R"}
PEER_SCENARIOS = "SPQR"
LEGEND = (
    "E, F: one chain = POST /login (init) + 4 persisted steps: register_client_capabilities,\n"
    "      continue_with_login_identifier {email}, the login_method_chooser's\n"
    "      continue_to_password_login | continue_to_passcode_confirmation, then\n"
    "      password_login {password} | verify_passcode {code}; p50 is the whole chain.\n"
    "      Bench-only: MD5 password hasher, rate limiter off, Celery eager (the passcode\n"
    "      email is rendered and sent inside the chain's 4th request), see bench/settings.py.\n"
    f"G: POST /bench/user with Authorization: Bearer <session JWT>, {SEED_SESSIONS} sessions "
    "in turn;\n"
    "   the answer is request.user.pk. D is the same view path without token or database."
)
PEER_LEGEND = (
    "S..R: the peer, django-allauth headless (app client, JWT token strategy; bench/peer/),\n"
    "      its own database on the same server; same cache, gunicorn configuration and load\n"
    "      generator. P: POST auth/login {email, password}. Q: POST auth/code/request, then\n"
    "      auth/code/confirm with the emailed 6-digit code. R: a DRF view with allauth's\n"
    "      JWTTokenAuthentication answering request.user.pk (stateless: the token's signature,\n"
    "      then one SELECT of the user). S: the peer's no-database view; peer rows' 'vs D' is\n"
    "      against S. MD5 hasher and the limits of requests off, as ours; "
)
# PEER_LEGEND's last words, by whether the peer limits failed sign-ins (start_peer).
PEER_FAILED_LOGINS = {
    True: "failed sign-ins\n      limited per email (allauth's login_failed), as ours are by "
    "attempt budgets.",
    False: "allauth's failed-login\n      limit off too (--peer-without-failed-login-limit); "
    "ours keeps its attempt budgets.",
}

CPU_LEGEND = (
    "CPU ms per unit of the same runs (bench/cpu.py: /proc, the whole box, 2 cores shared by\n"
    "all): workers = the scenario's gunicorn master and its workers; PostgreSQL and Redis = all\n"
    "their processes; load gen = this process, the client threads; other = the rest of the\n"
    "box's busy time (other processes, interrupts); ms/req = load gen per HTTP request."
)


@dataclass
class Peer:
    """The peer's server as the load generator sees it."""

    port: int
    seeded: Seeded  # its users (same password as ours) and the JWTs of the check (R)
    mail: Path  # where bench.mail.CodeFileBackend writes its login codes
    next_user: int = 0  # both logins take the users in turn, from here


def start_peer(
    database: Database,
    env: dict[str, str],
    tmp: Path,
    password: str,
    failed_login_limit: bool = True,
) -> tuple[Peer | None, Server | None, Database | None]:
    """Build (once) and serve the peer: its own database next to ours, the same environment
    otherwise (cache, SECRET_KEY), gunicorn as ours; ``failed_login_limit``: allauth's limit of
    failed sign-ins per email on (bench/peer/settings.py). Returns (None, None, None) after
    logging why when it cannot run; the bench then goes on without it."""
    from bench import peer_setup
    from bench.seed import email_for

    python = peer_setup.peer_python(log)
    if python is None:
        return None, None, None
    peer_db: Database | None = None
    server: Server | None = None
    try:
        if database.vendor == "sqlite":
            path = tmp / "peer.sqlite3"
            peer_db = Database(f"sqlite:///{path}", f"SQLite file {path}", "sqlite")
        else:
            peer_db = postgres_database(os.environ["DATABASE_URL"], label="peer")
            if peer_db.drop is None:  # it fell back to the DATABASE_URL database itself
                log("peer skipped: it needs a database of its own and none could be created")
                return None, None, None
        domain = f"peer-{secrets.token_hex(4)}.bench.example.com"
        mail = tmp / "peer-mail"
        peer_env = {
            **env,
            "DJANGO_SETTINGS_MODULE": "bench.peer.settings",
            "PEER_DATABASE_URL": peer_db.url,
            "PEER_JWT_PRIVATE_KEY": peer_setup.jwt_private_key(),
            "BENCH_MAIL_DIR": str(mail),
            "PEER_FAILED_LOGIN_LIMIT": "1" if failed_login_limit else "0",
        }
        peer_env.pop("DATABASE_URL", None)
        limit = "on, per email" if failed_login_limit else "off"
        log(
            f"peer: django-allauth headless ({python}); database: {peer_db.description}; "
            f"failed-login limit {limit}"
        )
        peer_setup.prepare(python, peer_env, domain, SEED_USERS, password)
        server = Server(
            peer_env,
            tmp / "peer-gunicorn.log",
            tmp / "peer-gunicorn.stderr",
            python=python,
            app="bench.peer.wsgi:application",
        )
        server.start()
        log(f"peer: gunicorn listening on {HOST}:{server.port}")
        emails = [email_for(index, domain) for index in range(SEED_USERS)]
        seeded = Seeded(domain, password, emails, [])
        seeded.sessions = peer_tokens(server.port, seeded, SEED_SESSIONS)
        return Peer(server.port, seeded, mail), server, peer_db
    except (RuntimeError, OSError, ValueError, KeyError, subprocess.SubprocessError) as exc:
        log(f"peer skipped: it did not start ({exc.__class__.__name__}: {exc})")
        if server is not None:
            log(server.log_tail(10))
            server.stop()
        if peer_db is not None and peer_db.drop is not None:
            peer_db.drop()
        return None, None, None


@dataclass
class Variant:
    """--workers-compare: another server of ours, and how the client talks to it; each of our
    scenarios runs on it right after it ran on the main server."""

    label: str
    port: int
    close: bool = False  # a new connection per request (Connection: close)
    own_flows: bool = False  # another flow store: B's flows are made on this server
    results: dict[str, list[LoadResult]] = field(default_factory=dict)


class Bench:
    def __init__(
        self,
        port: int,
        duration: float,
        concurrency: int,
        seeded: Seeded,
        mail: Path,
        peer: Peer | None = None,
        variants: list[Variant] | None = None,
        masters: dict[int, int] | None = None,
    ) -> None:
        self.port = port
        # port -> pid of the gunicorn master serving it; the CPU is measured when given
        self.masters = masters or {}
        self.peer = peer
        self.variants = variants or []
        self.duration = duration
        self.concurrency = concurrency
        self.seeded = seeded
        self.mail = mail
        self.next_user = 0  # both chains take the seeded users in turn, from here
        self.created_ids: set[str] = set()
        self.results: dict[str, list[LoadResult]] = {}

    def load(
        self,
        load: Load,
        duration: float | None = None,
        port: int | None = None,
        close: bool = False,
    ) -> LoadResult:
        port = port or self.port
        before = cpu.sample() if self.masters else None
        result = run_load(port, load, duration or self.duration, self.concurrency, close)
        if before is not None:
            result.cpu = cpu.usage(before, cpu.sample(), self.masters.get(port))
        for body in result.bodies:
            match = FLOW_ID.search(body)
            if match:
                self.created_ids.add(match.group(1).decode())
        self.created_ids.update(result.created)
        return result

    def chain(
        self,
        key: str,
        duration: float | None = None,
        port: int | None = None,
        close: bool = False,
    ) -> LoadResult:
        """A run of the password (E) or passcode (F) chain, on users no chain used yet (until
        all were used; each user has a session limit of 5, and one chain issues one)."""
        if key == "E":
            load = password_chain_load(self.seeded, self.next_user, 10**6)
        else:
            load = passcode_chain_load(self.seeded, self.next_user, 10**6, self.mail)
        result = self.load(load, duration, port=port, close=close)
        self.next_user += result.ok + result.failed
        return result

    def peer_scenario(self, key: str, duration: float | None = None) -> LoadResult:
        """A run of the peer's scenario ``key`` (S, P, Q or R) on the peer's server."""
        peer = self.peer
        assert peer is not None
        if key == "S":
            load = peer_hello_load(10**6)
        elif key == "P":
            load = peer_password_load(peer.seeded, peer.next_user, 10**6)
        elif key == "Q":
            load = peer_code_load(peer.seeded, peer.next_user, 10**6, peer.mail)
        else:
            load = peer_jwt_load(peer.seeded.sessions, 10**6)
        result = self.load(load, duration, port=peer.port)
        if key in "PQ":
            peer.next_user += result.ok + result.failed
        return result

    def order(self) -> str:
        if self.peer is None:
            return SCENARIOS
        return "".join(key + PEER_AFTER.get(key, "") for key in SCENARIOS)

    def create_flows(
        self, count: int, time_limit: float = POOL_CREATE_LIMIT, port: int | None = None
    ) -> list[PoolFlow]:
        result = self.load(init_load(count), duration=time_limit, port=port)
        if result.failed:
            log(f"  creating flows: {result.failed} failed ({dict(result.statuses)})")
        return [parse_flow(body) for body in result.bodies]

    def needed(self, rate: float) -> int:
        return math.ceil(rate * self.duration * POOL_SAFETY) + 50

    def run(self, rounds: int = 2) -> None:
        log("warm-up and pre-created flows (not timed)")
        baseline_ids = list(self.seeded.baseline_flows)  # in the database, whatever the store
        self.created_ids.update(baseline_ids)
        warm = self.create_flows(300)
        self.load(hello_load(10**6), duration=0.5)
        self.load(baseline_load(baseline_ids, 10**6), duration=0.5)
        self.load(user_load(self.seeded, 10**6), duration=0.5)
        for key in "EF":
            warmed = self.chain(key, duration=1.0)
            if warmed.failed:
                log(f"  warm-up {warmed.name}: {warmed.failed} failed {dict(warmed.statuses)}")
        for variant in self.variants:
            self.load(hello_load(10**6), duration=0.5, port=variant.port, close=variant.close)
            self.load(user_load(self.seeded, 10**6), 0.5, port=variant.port, close=variant.close)
            for key in "EF":
                self.chain(key, duration=1.0, port=variant.port, close=variant.close)
        if self.peer is not None:
            for key in PEER_SCENARIOS:
                warmed = self.peer_scenario(key, duration=1.0 if key in "PQ" else 0.5)
                if warmed.failed:
                    log(f"  warm-up {warmed.name}: {warmed.failed} failed {dict(warmed.statuses)}")
        estimate = self.load(capability_load(warm[:200]), duration=1.5)
        pool = warm[200:]
        rate = max(estimate.attempts_per_s, 50.0)  # failed attempts use up flows too
        # B's rate on each variant's server, for its share of the pool (--workers-compare).
        rates = {variant.label: rate for variant in self.variants}
        log(
            f"  estimate: {rate:.0f} capability steps/s; baseline rows: {len(baseline_ids)}; "
            f"seeded users: {len(self.seeded.emails)}, sessions: {len(self.seeded.sessions)}"
        )

        for round_no in range(1, rounds + 1):
            want = self.needed(rate) + sum(self.needed(r) for r in rates.values())
            if len(pool) < want:
                began = time.perf_counter()
                pool += self.create_flows(want - len(pool))
                log(
                    f"  pre-created flows for round {round_no}: pool of {len(pool)} flows "
                    f"in preflight ({time.perf_counter() - began:.1f}s)"
                )
            log(f"round {round_no}/{rounds}")
            for key in self.order():
                servers = [None] if key in PEER_SCENARIOS else [None, *self.variants]
                for variant in servers:
                    port, close = (variant.port, variant.close) if variant else (None, False)
                    if key in PEER_SCENARIOS:
                        result = self.peer_scenario(key)
                    elif key == "A":
                        result = self.load(baseline_load(baseline_ids, 10**6), None, port, close)
                    elif key == "B":
                        if variant and variant.own_flows:  # another store: its own flows
                            flows = self.create_flows(self.needed(rates[variant.label]), port=port)
                            result = self.load(capability_load(flows), None, port, close)
                        else:
                            result = self.load(capability_load(pool), None, port, close)
                    elif key == "C":
                        result = self.load(init_load(10**6), None, port, close)
                    elif key == "D":
                        result = self.load(hello_load(10**6), None, port, close)
                    elif key in "EF":
                        result = self.chain(key, port=port, close=close)
                    else:
                        result = self.load(user_load(self.seeded, 10**6), None, port, close)
                    results = variant.results if variant else self.results
                    results.setdefault(key, []).append(result)
                    note = ""
                    if result.failed:
                        note = f", {result.failed} failed {dict(result.statuses)}"
                    if key == "B" and result.ok + result.failed >= len(pool):
                        note += " (pool used up before the time limit)"
                    where = f" [{variant.label}]" if variant else ""
                    log(
                        f"  {key} {result.name}{where}: {result.ok} in "
                        f"{result.elapsed:.2f}s = {result.rps:.0f} {result.unit}{note}"
                        + (f"; CPU ms/unit {result.cpu.describe(result.ok)}" if result.cpu else "")
                    )
                    if key == "B" and not (variant and variant.own_flows):
                        pool = pool[result.ok + result.failed :]  # used flows are past preflight
                        if variant:
                            rates[variant.label] = max(rates[variant.label], result.attempts_per_s)
                        else:
                            rate = max(rate, result.attempts_per_s)
                    if key == "C" and variant and variant.own_flows:
                        result.bodies.clear()  # flows in the other store: not for the pool
                    elif key == "C":  # fresh preflight flows: the next round's pool
                        pool += [parse_flow(body) for body in result.bodies]
                        result.bodies.clear()
        if self.next_user > len(self.seeded.login_emails):
            log(
                f"  note: {self.next_user} chains on {len(self.seeded.login_emails)} users: "
                "some users logged in more than once"
            )

    def best(self) -> dict[str, LoadResult]:
        return {key: max(runs, key=lambda r: r.rps) for key, runs in self.results.items()}

    def table(self) -> str:
        best = self.best()
        base, bare = best["A"].rps, best["D"].rps
        header = (
            f"{'scenario':<36} {'rate':>7} {'unit':<8} {'runs':>13} {'vs A':>5} "
            f"{'vs D':>5} {'p50 ms':>7} {'failed':>6}"
        )
        lines = [header, "-" * len(header)]
        peer_bare = best["S"].rps if "S" in best else 0.0
        for key in self.order():
            runs = self.results[key]
            result = best[key]
            both = " / ".join(f"{r.rps:.0f}" for r in runs)
            if key in PEER_SCENARIOS:
                vs_a = "-"
                vs_d = f"{result.rps / peer_bare:.2f}" if peer_bare else "n/a"
            else:
                vs_a = f"{result.rps / base:.2f}" if base else "n/a"
                vs_d = f"{result.rps / bare:.2f}" if bare else "n/a"
            failed = sum(r.failed for r in runs)
            lines.append(
                f"{key} {result.name:<34} {result.rps:>7.0f} {result.unit:<8} {both:>13} "
                f"{vs_a:>5} {vs_d:>5} {result.p50_ms:>7.1f} {failed:>6}"
            )
        return "\n".join(lines)

    def workers_table(self, label: str) -> str:
        """--workers-compare: each of our scenarios on the main server (``label``) and on each
        variant's, best of the runs; ``xN`` is the variant's rate over the main server's."""
        columns = [label] + [variant.label for variant in self.variants]
        header = f"{'scenario':<36}" + "".join(f" {name[:22]:>22}" for name in columns)
        lines = [header, "-" * len(header)]
        for key in SCENARIOS:
            if key not in self.results:
                continue
            main = max(self.results[key], key=lambda r: r.rps)
            cells = [f"{main.rps:.0f} (p50 {main.p50_ms:.0f} ms)"]
            for variant in self.variants:
                if key not in variant.results:
                    cells.append("-")
                    continue
                other = max(variant.results[key], key=lambda r: r.rps)
                ratio = f"x{other.rps / main.rps:.2f}" if main.rps else "n/a"
                failed = sum(r.failed for r in variant.results[key])
                cells.append(f"{other.rps:.0f} {ratio}" + (f" ({failed} failed)" if failed else ""))
            lines.append(f"{key} {main.name:<34}" + "".join(f" {cell:>22}" for cell in cells))
        return "\n".join(lines)

    def cpu_table(self) -> list[str]:
        """CPU ms per unit by process group (``bench.cpu``) for the best run of each scenario,
        then, per peer target, the server's CPU per unit (workers + PostgreSQL + Redis) of both
        sides next to the throughput ratio."""
        best = self.best()
        if not any(result.cpu for result in best.values()):
            return []
        header = (
            f"{'CPU ms per unit':<36} {'workers':>8} {'PostgreSQL':>10} {'Redis':>6} "
            f"{'load gen':>8} {'other':>6} {'box busy':>8} {'ms/req':>6}"
        )
        lines = [header, "-" * len(header)]
        for key in self.order():
            result = best.get(key)
            if result is None or result.cpu is None:
                continue
            ms = result.cpu.per_unit_ms(result.ok)
            # the load generator's CPU per HTTP request it made (a chain makes several)
            per_request = (
                f"{1000 * result.cpu.groups['loadgen'] / result.requests:.3f}"
                if result.requests
                else "-"
            )
            lines.append(
                f"{key} {result.name:<34} {ms['workers']:>8.2f} {ms['postgresql']:>10.2f} "
                f"{ms['redis']:>6.2f} {ms['loadgen']:>8.2f} {ms['other']:>6.2f} "
                f"{ms['busy']:>8.2f} {per_request:>6}"
            )
        for top, bottom, _, _ in PEER_TARGETS if self.peer is not None else ():
            ours, theirs = best.get(top), best.get(bottom)
            if not (ours and theirs and ours.cpu and theirs.cpu and ours.ok and theirs.ok):
                continue
            mine = 1000 * ours.cpu.server / ours.ok
            peer = 1000 * theirs.cpu.server / theirs.ok
            # as a rate ratio: what top/bottom would be if the server's CPU alone set the pace
            cpu_ratio = f"{peer / mine:.2f}" if mine else "n/a"
            rate = f"{ours.rps / theirs.rps:.2f}" if theirs.rps else "n/a"
            lines.append(
                f"  {top}/{bottom} server CPU per unit (workers + PostgreSQL + Redis): "
                f"{top} {mine:.2f} ms, {bottom} {peer:.2f} ms = {cpu_ratio} as a rate ratio; "
                f"throughput {top}/{bottom} {rate}"
            )
        return lines

    def targets(self) -> list[str]:
        """One line per target of the issues: the ratio, PASS/FAIL, and whether it is reliable."""
        best = self.best()
        failed = {key: sum(r.failed for r in runs) for key, runs in self.results.items()}
        lines = []
        targets = TARGETS + (PEER_TARGETS if self.peer is not None else ())
        for top, bottom, target, what in targets:
            if not best[bottom].rps:
                lines.append(f"Target: {what} n/a (>= {target}) FAIL (no {bottom} measured)")
                continue
            ratio = best[top].rps / best[bottom].rps
            verdict = "PASS" if ratio >= target else "FAIL"
            if failed.get(top) or failed.get(bottom):
                verdict += f" (unreliable: {top} or {bottom} had failed answers, see the WARNING)"
            lines.append(f"Target: {what} {ratio:.2f} (>= {target}) {verdict}")
            if bottom in PEER_SCENARIOS:  # each round ran the two back to back: paired ratios
                pairs = zip(self.results[top], self.results[bottom], strict=False)
                paired = [f"{a.rps / b.rps:.2f}" for a, b in pairs if b.rps]
                lines.append(f"  {top}/{bottom} round by round: {', '.join(paired)}")
        for key in "EF":
            chains = best[key].rps
            per_request = chains * CHAIN_REQUESTS / best["A"].rps if best["A"].rps else 0.0
            lines.append(
                f"  {key}: {chains:.1f} chains/s = {chains * CHAIN_REQUESTS:.0f} req/s, "
                f"{per_request:.2f}x A per request"
            )
        return lines


# --- --scale ----------------------------------------------------------------------------------


def scale_flows(database: Database, env: dict[str, str], scale: int) -> None:
    """The background flows of ``--scale`` (bench/scale.py), half of them expired."""
    from bench.scale import FLOWS_PER_SCALE

    if database.delete_created:
        log("--scale: no background flows on a shared database (only in a throwaway one)")
        return
    count = FLOWS_PER_SCALE * scale
    began = time.perf_counter()
    subprocess.run(
        [PYTHON, "-m", "bench.scale", "flows", "--count", str(count), "--expired", str(count // 2)],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
    )
    log(
        f"  --scale {scale}: {count} background login flows, {count // 2} of them expired "
        f"({time.perf_counter() - began:.1f}s, not timed)"
    )


def scale_report(env: dict[str, str], scale: int) -> list[str]:
    """Table sizes after the run, then after ``manage.py hankoflow_cleanup`` (and a VACUUM)."""
    from bench import scale as scaling

    def sizes(*extra: str) -> dict:
        answer = subprocess.run(
            [PYTHON, "-m", "bench.scale", "sizes", *extra],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=300,
            capture_output=True,
            text=True,
        )
        return json.loads(answer.stdout)

    before = sizes()
    cleanup = subprocess.run(
        [PYTHON, "manage.py", "hankoflow_cleanup", "--only", "flows", "--only", "sessions"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
        capture_output=True,
        text=True,
    )
    after = sizes()
    vacuumed = sizes("--vacuum")
    # As many new flows as the cleanup deleted: they fill the space it freed, the table does not
    # grow (what autovacuum and the hourly cleanup give a busy server).
    refill = scaling.FLOWS_PER_SCALE * scale // 2
    subprocess.run(
        [PYTHON, "-m", "bench.scale", "flows", "--count", str(refill)],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
    )
    refilled = sizes()
    deleted = " ".join(cleanup.stdout.split())
    return [
        f"--scale {scale}: {SEED_USERS * scale} users, {SEED_SESSIONS * scale} sessions, "
        f"{scaling.FLOWS_PER_SCALE * scale} background flows (half expired) before the run",
        *scaling.describe("after the run", before),
        f"  manage.py hankoflow_cleanup --only flows --only sessions: {deleted}",
        *scaling.describe("after cleanup", after),
        *scaling.describe("after VACUUM", vacuumed),
        *scaling.describe(f"+{refill} new flows", refilled)[:1],
    ]


# --- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bin/bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--db",
        choices=["auto", "sqlite", "postgres"],
        default="auto",
        help="auto: DATABASE_URL if set, else SQLite (default)",
    )
    parser.add_argument(
        "--duration", type=float, default=6.0, help="seconds per timed scenario run (default 6)"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="client connections (default 4)")
    parser.add_argument(
        "--settings",
        default="bench.settings",
        help="settings module for the server and the SQL count; it should "
        "star-import bench.settings (default bench.settings)",
    )
    parser.add_argument(
        "--no-peer",
        action="store_true",
        help="skip the peer (django-allauth headless) and its targets",
    )
    parser.add_argument(
        "--peer-without-failed-login-limit",
        action="store_true",
        help="run the peer with allauth's failed-login limit off too, as the bench's runs "
        "before issue 16's sixth pass did (ours keeps its attempt budgets)",
    )
    parser.add_argument(
        "--argon2",
        action="store_true",
        help="then password logins with the production hasher (Argon2id) next to the hasher "
        "alone, on a second server (bench/argon2.py; about a minute more)",
    )
    parser.add_argument(
        "--scale",
        type=int,
        default=1,
        metavar="N",
        help=f"N times the users ({SEED_USERS} at 1) and sessions, plus N x "
        "bench.scale.FLOWS_PER_SCALE login flows (half expired); then the table sizes before "
        "and after manage.py hankoflow_cleanup (default 1: as always)",
    )
    parser.add_argument(
        "--workers-compare",
        action="store_true",
        help=f"run each of our scenarios also on gunicorn gthread workers ({WORKERS} x "
        f"{GTHREAD_THREADS} threads) right after the sync ones, and compare",
    )
    parser.add_argument(
        "--flow-store",
        choices=FLOW_STORES,
        default=None,
        help="where our server keeps flows (default: $HANKOFLOW_FLOW_STORE, else database)",
    )
    parser.add_argument(
        "--stores-compare",
        action="store_true",
        help="run each of our scenarios also on a server with the other flow store, and compare",
    )
    parser.add_argument(
        "--keep-logs",
        action="store_true",
        help="keep the temp dir with gunicorn's logs (and the SQLite file)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.scale < 1:
        log("--scale must be at least 1")
        return 1
    began = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="hankoflow-bench-"))
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    database: Database | None = None
    server: Server | None = None
    bench: Bench | None = None
    peer_server: Server | None = None
    peer_db: Database | None = None
    alt_server: Server | None = None
    store_server: Server | None = None
    seeded_domain = ""
    from bench import argon2

    argon2_phase = argon2.Phase()
    try:
        url = os.environ.get("DATABASE_URL", "")
        if args.db == "postgres" and not url.startswith(("postgres", "pgsql")):
            log("--db postgres needs DATABASE_URL (bin/services start; bin/bench exports it)")
            return 1
        if args.db == "sqlite" or not url:
            for name in SERVICE_VARS:  # the zero-setup configuration, all of it
                env.pop(name, None)
            database = sqlite_database(tmp)
        elif url.startswith(("postgres", "pgsql")):
            database = postgres_database(url)
        else:
            log(f"unsupported DATABASE_URL scheme: {url.split(':', 1)[0]}")
            return 1
        mail = tmp / "mail"
        domain = f"run-{secrets.token_hex(4)}.bench.example.com"  # this run's users
        env.update(
            DJANGO_SETTINGS_MODULE=args.settings,
            DATABASE_URL=database.url,
            SECRET_KEY=secrets.token_urlsafe(50),  # fixed for this run, new every run
            DEBUG="0",
            PYTHONDONTWRITEBYTECODE="1",
            BENCH_MAIL_DIR=str(mail),  # bench.mail.CodeFileBackend writes the codes here
            BENCH_EMAIL_DOMAIN=domain,  # bench.queries' user, too
        )
        cache = env.get("CACHE_URL") or env.get("REDIS_URL") or "locmem (in-process)"
        store = args.flow_store or env.get("HANKOFLOW_FLOW_STORE") or "database"
        if "redis" in (store, *(FLOW_STORES if args.stores_compare else ())) and not (
            cache.startswith(("redis://", "rediss://"))
        ):
            log("the redis flow store needs a Redis cache (CACHE_URL or REDIS_URL)")
            return 1
        env["HANKOFLOW_FLOW_STORE"] = store
        log(f"database: {database.description}")
        log(f"settings: {args.settings}; cache: {cache}; flow store: {store}")
        log(
            f"gunicorn: {WORKERS} sync workers on {HOST}; load: {args.concurrency} connections, "
            f"{args.duration:g}s per run, 2 runs each"
        )

        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=120,
        )
        seed_file = tmp / "seed.json"
        seeding = [
            PYTHON,
            "-m",
            "bench.seed",
            "--domain",
            domain,
            "--users",
            str(SEED_USERS * args.scale),
            "--sessions",
            str(SEED_SESSIONS * args.scale),
            "--out",
            str(seed_file),
        ]
        seeded_domain = domain  # from here on, a shared database holds this run's users
        subprocess.run(seeding, cwd=ROOT, env=env, check=True, timeout=120 * args.scale)
        seeded = Seeded.read(seed_file)
        if args.scale > 1:
            scale_flows(database, env, args.scale)
        server = Server(
            env,
            tmp / "gunicorn.log",
            tmp / "gunicorn.stderr",
            store=store if args.stores_compare else "",
        )
        server.start()
        log(f"gunicorn listening on {HOST}:{server.port}")
        if args.workers_compare:
            alt_server = Server(
                env,
                tmp / "gthread.log",
                tmp / "gthread.stderr",
                worker_class="gthread",
                threads=GTHREAD_THREADS,
            )
            alt_server.start()
            log(f"workers compare: {alt_server.describe()} on {HOST}:{alt_server.port}")

        if args.stores_compare:
            other = next(name for name in FLOW_STORES if name != store)
            store_server = Server(
                {**env, "HANKOFLOW_FLOW_STORE": other},
                tmp / "store.log",
                tmp / "store.stderr",
                store=other,
            )
            store_server.start()
            log(f"stores compare: {store_server.describe()} on {HOST}:{store_server.port}")

        peer: Peer | None = None
        if args.no_peer:
            log("peer: skipped (--no-peer)")
        else:
            peer, peer_server, peer_db = start_peer(
                database,
                env,
                tmp,
                seeded.password,
                failed_login_limit=not args.peer_without_failed_login_limit,
            )

        unreadable = cpu.readable()
        if unreadable:
            log(f"CPU per unit: not measured, {unreadable}")
        servers = [server, alt_server, store_server, peer_server]
        masters = {s.port: s.proc.pid for s in servers if s is not None and s.proc is not None}
        bench = Bench(
            server.port,
            args.duration,
            args.concurrency,
            seeded,
            mail,
            peer,
            variants=(
                [
                    Variant(f"{alt_server.describe()}, keep-alive", alt_server.port),
                    Variant(f"{alt_server.describe()}, conn./request", alt_server.port, True),
                ]
                if alt_server
                else []
            )
            + (
                [Variant(store_server.describe(), store_server.port, own_flows=True)]
                if store_server
                else []
            ),
            masters=None if unreadable else masters,
        )
        bench.run()
        memory = server.worker_memory()
        alt_memory = alt_server.worker_memory() if alt_server else ""
        store_memory = store_server.worker_memory() if store_server else ""
        server.stop()
        errors = server.error_counts()
        if alt_server is not None:
            alt_server.stop()
            errors.update({f"gthread: {line}": n for line, n in alt_server.error_counts().items()})
        if store_server is not None:
            store_server.stop()
            errors.update({f"store: {line}": n for line, n in store_server.error_counts().items()})
        if peer_server is not None:
            peer_server.stop()
            errors.update({f"peer: {line}": n for line, n in peer_server.error_counts().items()})

        print()
        print(
            f"Results ({database.vendor}; best of 2 interleaved runs; rates count only answers "
            "that were the expected state):"
        )
        print(bench.table())
        # --scale seeds more sessions for G; the legend names the count this run used.
        print(LEGEND.replace(f"{SEED_SESSIONS} sessions", f"{len(seeded.sessions)} sessions"))
        if peer is not None:
            limited = not args.peer_without_failed_login_limit
            print(PEER_LEGEND + PEER_FAILED_LOGINS[limited])
        cpu_lines = bench.cpu_table()
        if cpu_lines:
            print()
            print(CPU_LEGEND)
            print("\n".join(cpu_lines))
        print()
        for line in bench.targets():
            print(line)
        failed = {key: sum(r.failed for r in runs) for key, runs in bench.results.items()}
        if any(failed.values()):
            statuses: Counter[str] = Counter()
            for runs in bench.results.values():
                for result in runs:
                    statuses.update(result.statuses)
            print(
                "WARNING: failed answers in the timed runs: "
                + ", ".join(f"{key}: {n}" for key, n in failed.items() if n)
                + "; req/s count only the answers that were the expected state; statuses: "
                + ", ".join(f"{status} x{n}" for status, n in sorted(statuses.items()))
            )
        if errors:
            print("Exceptions logged by the workers (whole run, warm-up included):")
            for line, n in errors.most_common(5):
                print(f"  {n:>6} x {line}")
        print(f"Memory per worker after the run ({server.describe()}): {memory}")
        if alt_server is not None:
            print()
            print(
                f"Worker model: our scenarios on {server.describe()} and, right after each, on "
                f"{alt_server.describe()}, with the client keeping its connection and with a "
                "new connection per request (as nginx without upstream keepalive); best of 2, "
                "rate in each row's unit, x: vs sync:"
            )
        if store_server is not None:
            print()
            print(
                f"Flow stores: our scenarios on {server.describe()} and, right after each, on "
                f"{store_server.describe()}; best of 2, rate in each row's unit, x: vs the first:"
            )
        if bench.variants:
            print(bench.workers_table(server.describe()))
        if alt_server is not None:
            print(f"Memory per worker after the run ({alt_server.describe()}): {alt_memory}")
        if store_server is not None:
            print(f"Memory per worker after the run ({store_server.describe()}): {store_memory}")
        print(flush=True)

        if args.argon2:
            argon2.run_phase(env, tmp, args.duration, args.concurrency, argon2_phase)
            bench.created_ids.update(argon2_phase.bench.created_ids if argon2_phase.bench else ())
            print("\n".join(argon2.report(argon2_phase)), flush=True)
            print(flush=True)
        if args.scale > 1:
            print("\n".join(scale_report(env, args.scale)), flush=True)
            print(flush=True)

        counted = subprocess.run(
            [PYTHON, "-m", "bench.queries"], cwd=ROOT, env=env, timeout=60, check=False
        )
        if counted.returncode:
            log(f"the SQL count failed (exit {counted.returncode}); see above")
        log(f"done in {time.perf_counter() - began:.0f}s")
        return 0
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        log(f"ERROR: {exc}")
        return 1
    finally:
        if server is not None:
            server.stop()
        if peer_server is not None:
            peer_server.stop()
        if alt_server is not None:
            alt_server.stop()
        if store_server is not None:
            store_server.stop()
        if argon2_phase.bench is not None and bench is not None:
            bench.created_ids.update(argon2_phase.bench.created_ids)
        if peer_db is not None and peer_db.drop is not None:
            try:
                peer_db.drop()
            except Exception as exc:  # cleanup must not hide the report
                log(f"cleanup of the peer's database failed: {exc}")
        if database is not None:
            try:
                if database.drop is not None:
                    database.drop()
                elif database.delete_created:
                    if bench is not None and bench.created_ids:
                        delete_flows(database.url, bench.created_ids)
                    for seeded_in in (seeded_domain, argon2_phase.domain):
                        if not seeded_in:
                            continue
                        subprocess.run(
                            [PYTHON, "-m", "bench.seed", "--remove", "--domain", seeded_in],
                            cwd=ROOT,
                            env=env,
                            timeout=120 * args.scale,
                            check=True,
                        )
            except Exception as exc:  # cleanup must not hide the report
                log(f"cleanup of the bench database failed: {exc}")
        if args.keep_logs:
            log(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
