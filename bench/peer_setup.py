"""The peer's plumbing for ``bin/bench``: its virtualenv, database, key, migrations and users.

The peer is django-allauth in headless mode (``bench/peer/``), measured in the same run as
hankoflow. It runs in its own virtualenv, ``.run/bench-allauth-venv``, built on first use from
PyPI with ``bench/peer/requirements.txt`` and rebuilt when that file changes. When it cannot be
built (no network, no PyPI), ``peer_python`` says so and the bench goes on without the peer.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEER_VENV = ROOT / ".run" / "bench-allauth-venv"
REQUIREMENTS = ROOT / "bench" / "peer" / "requirements.txt"
STAMP = ".bench-requirements"  # a copy of the requirements the venv was built with


def peer_python(log: Callable[[str], None]) -> str | None:
    """The peer virtualenv's python, built or updated first if needed; None when it cannot be
    built (the reason is logged)."""
    python = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / STAMP
    wanted = REQUIREMENTS.read_text()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return str(python)
    log(f"peer: building its virtualenv {PEER_VENV} from PyPI ({REQUIREMENTS.name}; once)")
    # The interpreter the .venv was made from, so both stacks run the same Python.
    base = getattr(sys, "_base_executable", None) or sys.executable
    try:
        if not python.exists():
            subprocess.run(
                [base, "-m", "venv", str(PEER_VENV)],
                check=True,
                timeout=120,
                capture_output=True,
                text=True,
            )
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--retries",
                "1",
                "--timeout",
                "15",
                "-r",
                str(REQUIREMENTS),
            ],
            check=True,
            timeout=900,
            capture_output=True,
            text=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        output = (getattr(exc, "stderr", None) or "").strip().splitlines()
        reason = output[-1] if output else f"{exc.__class__.__name__}: {exc}"
        log(
            f"peer skipped: cannot build its virtualenv ({reason[:200]}); it needs PyPI once "
            "(bin/bench --no-peer skips the peer without trying)"
        )
        return None
    stamp.write_text(wanted)
    return str(python)


def jwt_private_key() -> str:
    """A fresh RSA key (PEM) for the peer's JWTs: allauth's default RS256."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def prepare(python: str, env: dict[str, str], domain: str, users: int, password: str) -> None:
    """Migrate the peer's database and create its users (not timed)."""
    subprocess.run(
        [python, "-m", "django", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    subprocess.run(
        [
            python,
            "-m",
            "bench.peer.seed",
            "--domain",
            domain,
            "--users",
            str(users),
            "--password",
            password,
        ],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
