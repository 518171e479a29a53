"""Bench-only email backend: keeps the last passcode sent to each address in a file.

``bin/bench``'s passcode login chain has to read the code the server emailed. Django's locmem
backend keeps mail in the process that sent it (one of gunicorn's workers), out of the load
generator's reach, so ``CodeFileBackend`` writes the code of each message to
``<BENCH_MAIL_DIR>/<address>`` (replaced atomically) and ``read_code`` reads it back. A file per
address works the same on the SQLite run (no Redis) and the PostgreSQL one, and leaves nothing
in the developer's Redis. Messages without a code (notices) write nothing.

Never use this outside the bench: it writes one-time codes to disk in the clear.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from urllib.parse import quote

from django.core.mail.backends.base import BaseEmailBackend

# The code stands alone on a line of the text part (templates/hankoflow/email/login.txt).
CODE_LINE = re.compile(r"^\s*([0-9A-Za-z]{6})\s*$", re.MULTILINE)


def mail_dir() -> Path:
    configured = os.environ.get("BENCH_MAIL_DIR")
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "hankoflow-bench-mail"


def code_path(directory: Path, address: str) -> Path:
    return directory / quote(address.strip().lower(), safe="@.-_+")


def read_code(directory: Path, address: str) -> str | None:
    try:
        return code_path(directory, address).read_text().strip() or None
    except FileNotFoundError:
        return None


class CodeFileBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        directory = mail_dir()
        directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            match = CODE_LINE.search(message.body or "")
            if match:
                for address in message.to:
                    target = code_path(directory, address)
                    partial = target.with_name(f".{target.name}.{os.getpid()}")
                    partial.write_text(match.group(1))
                    partial.replace(target)  # atomic: a reader sees the old code or the new
            sent += 1
        return sent
