"""``bin/bench``: requests/s of Flow API steps against a bare SELECT+UPDATE view, same server.

What it does, in order:

1. Picks the database: ``--db sqlite`` a fresh SQLite file in a temp dir; otherwise
   ``DATABASE_URL`` when set (``bin/bench`` exports ``bin/services env`` when its PostgreSQL is
   up). On PostgreSQL the run uses a throwaway database created next to the one named in the URL
   (dropped at the end), so the developer database gets no bench rows; if it cannot be created,
   the named database itself is used and the bench deletes the flows it created.
2. Migrates it and serves the app with gunicorn (2 sync workers, 127.0.0.1, a free port),
   ``DJANGO_SETTINGS_MODULE=bench.settings`` (DEBUG off, bench routes, no request logs) and a
   random SECRET_KEY made for this run.
3. Warms up, pre-creates flows (``POST /login``), then runs four scenarios twice, interleaved
   (A B C D A B C D), each bounded by a request count and a time limit, and keeps the better run:
   A the baseline view, B ``register_client_capabilities`` on pre-created ``preflight`` flows,
   C ``POST /login``, D the no-database ``bench/hello`` view.
4. Prints the table and the throughput target, then runs ``python -m bench.queries`` against the
   same database for the SQL statement counts.

It measures, it does not judge: the exit code is 0 even when a target is missed (1 only if the
bench could not run at all).
"""

from __future__ import annotations

import argparse
import http.client
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

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
TARGET_RATIO = 0.6  # register_client_capabilities req/s / baseline req/s
WORKERS = 2
SERVICE_VARS = ("DATABASE_URL", "CACHE_URL", "REDIS_URL", "CELERY_BROKER_URL",
                "CELERY_RESULT_BACKEND")
CAPABILITIES_BODY = {"webauthn_available": True}
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
BASELINE_ROWS = 100
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


def postgres_database(url: str) -> Database:
    import psycopg
    from psycopg import sql

    params = _pg_params(url)
    parts = urlsplit(url)
    where = f"{parts.hostname}:{parts.port or 5432}"
    with psycopg.connect(**params, autocommit=True, connect_timeout=5) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        name = f"{params['dbname']}_bench_{secrets.token_hex(4)}"
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            log(f"cannot create a throwaway database ({exc.__class__.__name__}: {exc}".strip()
                + "); using the DATABASE_URL database itself and deleting the bench's rows after")
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
            conn.execute("DELETE FROM hankoflow_flow WHERE id = ANY(%s::uuid[])",
                         [ids[start : start + 5000]])


# --- the server -------------------------------------------------------------------------------


class Server:
    """gunicorn serving ``project.wsgi`` with the bench settings on a free 127.0.0.1 port."""

    def __init__(self, env: dict[str, str], logfile: Path, stderr_file: Path) -> None:
        self.env = env
        self.logfile = logfile  # gunicorn's own log: boot, workers
        self.stderr_file = stderr_file  # the workers' stderr: Django's error log, tracebacks
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        cmd = [
            PYTHON, "-m", "gunicorn", "project.wsgi:application",
            "--bind", f"{HOST}:0",  # the kernel picks a free port; the log says which
            "--workers", str(WORKERS), "--worker-class", "sync",
            "--timeout", "30", "--graceful-timeout", "5",
            "--log-level", "info", "--error-logfile", str(self.logfile),
            "--no-control-socket",
        ]  # no --access-logfile: gunicorn then logs no line per request
        with self.stderr_file.open("wb") as stderr:
            self.proc = subprocess.Popen(
                cmd, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                stdout=stderr, stderr=stderr, start_new_session=True,
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
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        conn.request(method, path, headers=JSON_HEADERS)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# --- the load generator -----------------------------------------------------------------------

# One request: (method, path, body). The check decides whether an answer counts as done.
Request = tuple[str, str, bytes | None]


@dataclass
class Load:
    name: str
    make: Callable[[int], Request]  # the i-th request of the run
    count: int  # at most this many requests
    check: Callable[[int, bytes], bool] = lambda status, body: status == 200
    keep_bodies: bool = False


@dataclass
class LoadResult:
    name: str
    ok: int
    failed: int
    elapsed: float
    latencies: list[float]
    statuses: Counter[str] = field(default_factory=Counter)
    bodies: list[bytes] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def attempts_per_s(self) -> float:
        return (self.ok + self.failed) / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else 0.0


def run_load(port: int, load: Load, duration: float, concurrency: int) -> LoadResult:
    """``concurrency`` threads, one HTTP/1.1 connection each, until ``load.count`` requests are
    taken or ``duration`` seconds have passed; requests in flight then finish and count.

    Connections are keep-alive from the client side; gunicorn's sync workers answer every request
    with ``Connection: close``, so http.client reconnects for the next one (every scenario alike).
    """
    lock = threading.Lock()
    taken = 0
    ok = failed = 0
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    bodies: list[bytes] = []
    finished: list[float] = []
    start_barrier = threading.Barrier(concurrency + 1)
    start = deadline = 0.0

    def worker() -> None:
        nonlocal taken, ok, failed
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        my_latencies: list[float] = []
        my_ok = my_failed = 0
        my_statuses: Counter[str] = Counter()
        my_bodies: list[bytes] = []
        start_barrier.wait()
        while True:
            if time.perf_counter() >= deadline:
                break
            with lock:
                index = taken
                taken += 1
            if index >= load.count:
                break
            method, path, body = load.make(index)
            began = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=JSON_HEADERS)
                response = conn.getresponse()
                data = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                my_failed += 1
                my_statuses[exc.__class__.__name__] += 1
                continue
            my_latencies.append(time.perf_counter() - began)
            my_statuses[str(status)] += 1
            if load.check(status, data):
                my_ok += 1
                if load.keep_bodies:
                    my_bodies.append(data)
            else:
                my_failed += 1
        conn.close()
        with lock:
            ok += my_ok
            failed += my_failed
            latencies.extend(my_latencies)
            statuses.update(my_statuses)
            bodies.extend(my_bodies)
            finished.append(time.perf_counter())

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    deadline = start + duration
    start_barrier.wait()
    for thread in threads:
        thread.join(duration + 60)
    elapsed = (max(finished) if finished else time.perf_counter()) - start
    return LoadResult(load.name, ok, failed, elapsed, latencies, statuses, bodies)


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


class Bench:
    def __init__(self, port: int, duration: float, concurrency: int) -> None:
        self.port = port
        self.duration = duration
        self.concurrency = concurrency
        self.created_ids: set[str] = set()
        self.results: dict[str, list[LoadResult]] = {}

    def load(self, load: Load, duration: float | None = None) -> LoadResult:
        result = run_load(self.port, load, duration or self.duration, self.concurrency)
        for body in result.bodies:
            match = FLOW_ID.search(body)
            if match:
                self.created_ids.add(match.group(1).decode())
        return result

    def create_flows(self, count: int, time_limit: float = POOL_CREATE_LIMIT) -> list[PoolFlow]:
        result = self.load(init_load(count), duration=time_limit)
        if result.failed:
            log(f"  creating flows: {result.failed} failed ({dict(result.statuses)})")
        return [parse_flow(body) for body in result.bodies]

    def needed(self, rate: float) -> int:
        return math.ceil(rate * self.duration * POOL_SAFETY) + 50

    def run(self, rounds: int = 2) -> None:
        log("warm-up and pre-created flows (not timed)")
        baseline_ids = [flow.id for flow in self.create_flows(BASELINE_ROWS)]
        warm = self.create_flows(300)
        self.load(hello_load(10**6), duration=0.5)
        self.load(baseline_load(baseline_ids, 10**6), duration=0.5)
        estimate = self.load(capability_load(warm[:200]), duration=1.5)
        pool = warm[200:]
        rate = max(estimate.attempts_per_s, 50.0)  # failed attempts use up flows too
        log(f"  estimate: {rate:.0f} capability steps/s; baseline rows: {len(baseline_ids)}")

        for round_no in range(1, rounds + 1):
            want = self.needed(rate)
            if len(pool) < want:
                began = time.perf_counter()
                pool += self.create_flows(want - len(pool))
                log(f"  pre-created flows for round {round_no}: pool of {len(pool)} flows "
                    f"in preflight ({time.perf_counter() - began:.1f}s)")
            log(f"round {round_no}/{rounds}")
            for key in "ABCD":
                if key == "A":
                    load = baseline_load(baseline_ids, 10**6)
                elif key == "B":
                    load = capability_load(pool)
                elif key == "C":
                    load = init_load(10**6)
                else:
                    load = hello_load(10**6)
                result = self.load(load)
                self.results.setdefault(key, []).append(result)
                note = f", {result.failed} failed {dict(result.statuses)}" if result.failed else ""
                if key == "B" and result.ok + result.failed >= len(pool):
                    note += " (pool used up before the time limit)"
                log(f"  {key} {result.name}: {result.ok} in {result.elapsed:.2f}s = "
                    f"{result.rps:.0f} req/s{note}")
                if key == "B":
                    pool = pool[result.ok + result.failed :]  # used flows are past preflight
                    rate = max(rate, result.attempts_per_s)
                if key == "C":  # fresh preflight flows: the next round's pool
                    pool += [parse_flow(body) for body in result.bodies]
                    result.bodies.clear()

    def table(self) -> tuple[str, float | None]:
        best = {key: max(runs, key=lambda r: r.rps) for key, runs in self.results.items()}
        base = best["A"].rps
        header = (f"{'scenario':<34} {'req/s':>8} {'runs':>15} {'vs baseline':>11} "
                  f"{'p50 ms':>7} {'failed':>6}")
        lines = [header, "-" * len(header)]
        for key in "ABCD":
            runs = self.results[key]
            result = best[key]
            both = " / ".join(f"{r.rps:.0f}" for r in runs)
            ratio = f"{result.rps / base:.2f}" if base else "n/a"
            failed = sum(r.failed for r in runs)
            lines.append(
                f"{key} {result.name:<32} {result.rps:>8.0f} {both:>15} {ratio:>11} "
                f"{result.p50_ms:>7.1f} {failed:>6}"
            )
        ratio_value = best["B"].rps / base if base else None
        return "\n".join(lines), ratio_value


# --- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bin/bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["auto", "sqlite", "postgres"], default="auto",
                        help="auto: DATABASE_URL if set, else SQLite (default)")
    parser.add_argument("--duration", type=float, default=6.0,
                        help="seconds per timed scenario run (default 6)")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="client connections (default 4)")
    parser.add_argument("--settings", default="bench.settings",
                        help="settings module for the server and the SQL count; it should "
                        "star-import bench.settings (default bench.settings)")
    parser.add_argument("--keep-logs", action="store_true",
                        help="keep the temp dir with gunicorn's logs (and the SQLite file)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    began = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="hankoflow-bench-"))
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    database: Database | None = None
    server: Server | None = None
    bench: Bench | None = None
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
        env.update(
            DJANGO_SETTINGS_MODULE=args.settings,
            DATABASE_URL=database.url,
            SECRET_KEY=secrets.token_urlsafe(50),  # fixed for this run, new every run
            DEBUG="0",
            PYTHONDONTWRITEBYTECODE="1",
        )
        cache = env.get("CACHE_URL") or env.get("REDIS_URL") or "locmem (in-process)"
        log(f"database: {database.description}")
        log(f"settings: {args.settings}; cache: {cache}")
        log(f"gunicorn: {WORKERS} sync workers on {HOST}; load: {args.concurrency} connections, "
            f"{args.duration:g}s per run, 2 runs each")

        subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env,
                       check=True, timeout=120)
        server = Server(env, tmp / "gunicorn.log", tmp / "gunicorn.stderr")
        server.start()
        log(f"gunicorn listening on {HOST}:{server.port}")

        bench = Bench(server.port, args.duration, args.concurrency)
        bench.run()
        server.stop()
        errors = server.error_counts()
        table, ratio = bench.table()

        print()
        print(f"Results ({database.vendor}; best of 2 interleaved runs; req/s of answers that "
              "were the expected state):")
        print(table)
        print()
        if ratio is None:
            print("Target: ratio(register_client_capabilities / baseline) >= "
                  f"{TARGET_RATIO}: FAIL (no baseline measured)")
        failed = {key: sum(r.failed for r in runs) for key, runs in bench.results.items()}
        if ratio is not None:
            verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
            if failed.get("A") or failed.get("B"):
                verdict += " (unreliable: A or B had failed answers, see the WARNING)"
            print(f"Target: ratio(register_client_capabilities / baseline) >= {TARGET_RATIO}"
                  f" -> {ratio:.2f}: {verdict}")
        if any(failed.values()):
            statuses: Counter[str] = Counter()
            for runs in bench.results.values():
                for result in runs:
                    statuses.update(result.statuses)
            print("WARNING: failed answers in the timed runs: "
                  + ", ".join(f"{key}: {n}" for key, n in failed.items() if n)
                  + "; req/s count only the answers that were the expected state; statuses: "
                  + ", ".join(f"{status} x{n}" for status, n in sorted(statuses.items())))
        if errors:
            print("Exceptions logged by the workers (whole run, warm-up included):")
            for line, n in errors.most_common(5):
                print(f"  {n:>6} x {line}")
        print(flush=True)

        counted = subprocess.run([PYTHON, "-m", "bench.queries"], cwd=ROOT, env=env, timeout=60,
                                 check=False)
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
        if database is not None:
            try:
                if database.drop is not None:
                    database.drop()
                elif database.delete_created and bench is not None and bench.created_ids:
                    delete_flows(database.url, bench.created_ids)
            except Exception as exc:  # cleanup must not hide the report
                log(f"cleanup of the bench database failed: {exc}")
        if args.keep_logs:
            log(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
