"""Private services for the fault tests (issue 16, security-checks.md M and §5): a throwaway
PostgreSQL cluster, a redis-server, a Celery worker and gunicorn, each on a free port of
127.0.0.1, so that a test may stop, restart or kill -9 them without touching the shared
services other tests run on (PostgreSQL :54329, Redis :63799, the shared worker).

PostgreSQL refuses to run as root: as root its tools run as the ``postgres`` user (as
``bin/services`` does), in a directory that user owns.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 60.0  # seconds any service gets to come up
LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(check, *, timeout: float, what: str, interval: float = 0.05):
    """Poll ``check`` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while True:
        if value := check():
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(interval)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"(no log: {error})"


# -- PostgreSQL ---------------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server binaries (Debian keeps them off PATH), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]) if found else None


class PrivatePostgres:
    """A PostgreSQL cluster of our own: ``start()``, ``stop()`` (fast shutdown), ``url``."""

    def __init__(self, database: str = "faults") -> None:
        binaries = postgres_bin()
        if binaries is None or not (binaries / "initdb").exists():
            raise RuntimeError("PostgreSQL server binaries not found (bin/setup --with-services)")
        self.bin = binaries
        self.port = free_port()
        self.database = database
        # /tmp, not pytest's tmp_path: the postgres user must be able to reach it.
        self.root = Path(tempfile.mkdtemp(prefix="hankoflow-faults-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as_root = os.getuid() == 0
        if self._as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-E", "UTF8",
                  "--locale=C.UTF-8", "--auth=trust")  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, cwd="/", capture_output=True, text=True, timeout=90)
        if done.returncode:
            raise RuntimeError(f"{tool} failed:\n{done.stdout}{done.stderr}\n{_tail(self.log)}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "start", "-o", options)  # fmt: skip

    def stop(self) -> None:
        """``pg_ctl stop -m fast``: every session is cut, open transactions roll back."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(self.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')

    def query(self, sql: str, *params: object) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()

    def destroy(self) -> None:
        with contextlib.suppress(RuntimeError):  # already stopped
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


# -- Redis --------------------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of our own (no persistence); ``stop()`` and ``start()`` keep its port."""

    def __init__(self, directory: Path) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server not found (bin/setup --with-services)")
        self.port = free_port()
        self.directory = directory
        self.log = directory / f"redis-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, database: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        command = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.directory), "--logfile", str(self.log),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        wait_until(self.answers, timeout=STARTUP_TIMEOUT, what="redis-server up")

    def answers(self) -> bool:
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        """Gone at once: the process is killed, every client connection drops."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


# -- app processes ------------------------------------------------------------------------------


def app_env(**values: str) -> dict[str, str]:
    """The environment of a private app process: this one's, plus ``values``."""
    from django.conf import settings

    env = {
        **os.environ,
        "SECRET_KEY": settings.SECRET_KEY,  # the same key: stored codes and secrets decrypt
        "CELERY_RESULT_BACKEND": "",
        "PYTHONUNBUFFERED": "1",
        **values,
    }
    env.pop("PYTHONPATH", None)
    return env


@dataclass
class Process:
    """A child process of a test with its log."""

    process: subprocess.Popen[bytes]
    log: Path
    url: str = ""
    stop_signal: int = signal.SIGTERM

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.log, lines)

    def kill9(self) -> None:
        """SIGKILL, no clean-up: what an OOM kill or a crashed host does."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        if self.stop_signal == signal.SIGKILL:
            # Its own process group (start_new_session): the master and all of its workers.
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            return
        self.process.send_signal(self.stop_signal)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill9()


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            command, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def start_gunicorn(
    env: dict[str, str],
    log: Path,
    *,
    workers: int = 1,
    threads: int = 1,
    config: str | None = None,
    timeout: int = 60,
) -> Process:
    """gunicorn serving the demo project on a port the kernel chose; returns once it answers.
    ``config``: a gunicorn ``--config`` (e.g. ``python:tests.faults.still_clock``)."""
    command = [
        sys.executable, "-m", "gunicorn", "project.wsgi:application",
        "--bind", "127.0.0.1:0", "--workers", str(workers), "--threads", str(threads),
        "--timeout", str(timeout), "--graceful-timeout", "5", "--no-control-socket",
        *(["--config", config] if config else []),
    ]  # fmt: skip
    # Killed with its workers when the test ends: nothing in flight matters then, and even
    # gunicorn's quick shutdown waits seconds for threaded workers.
    server = Process(_spawn(command, env, log), log, stop_signal=signal.SIGKILL)

    def ready() -> bool:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{server.log_tail()}")
        if not server.url and (found := LISTENING.search(log.read_text(errors="replace"))):
            server.url = f"http://127.0.0.1:{found.group(1)}"
        if not server.url:
            return False
        try:
            return requests.get(f"{server.url}/health/alive", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(ready, timeout=STARTUP_TIMEOUT, what="gunicorn answering", interval=0.1)
    except AssertionError:
        server.stop()
        raise AssertionError(f"gunicorn did not answer:\n{server.log_tail()}") from None
    return server


def start_worker(env: dict[str, str], log: Path) -> Process:
    """``celery -A project worker`` with the solo pool: the task runs in the process itself, so
    ``kill9()`` kills the delivery in flight. Returns once the worker is consuming."""
    command = [
        sys.executable, "-m", "celery", "-A", "project", "worker",
        "--pool=solo", "--concurrency=1", "--loglevel=INFO", "--prefetch-multiplier=1",
        f"--hostname=faults-{uuid.uuid4().hex[:8]}@%h",
        "--without-mingle", "--without-gossip", "--without-heartbeat",
    ]  # fmt: skip
    worker = Process(_spawn(command, env, log), log)

    def ready() -> bool:
        if worker.process.poll() is not None:
            raise RuntimeError(f"the worker exited:\n{worker.log_tail()}")
        return " ready." in log.read_text(errors="replace")

    wait_until(ready, timeout=STARTUP_TIMEOUT, what="celery worker ready", interval=0.1)
    return worker


@contextmanager
def running(process: Process) -> Iterator[Process]:
    try:
        yield process
    finally:
        process.stop()


def migrate(env: dict[str, str], log: Path) -> None:
    """``manage.py migrate`` in a child process (the database ``env`` names)."""
    with log.open("wb") as output:
        done = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT, timeout=180,
        )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"migrate failed:\n{_tail(log)}")


# -- a server that never answers ----------------------------------------------------------------


@contextmanager
def blackhole() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections and never answers (a hung server, or a
    failover address nobody serves yet); its port."""
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        listener.close()
