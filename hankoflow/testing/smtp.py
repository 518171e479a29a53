"""A real SMTP server for tests: collects what a Celery worker or the app sends (platform.md §7,
security-checks.md §5.7).

``SmtpSink`` runs aiosmtpd in a thread on 127.0.0.1 (a free port by default), keeps every message
it accepts and lets a test wait for the next one to an address. Point the sender at it with
``EMAIL_URL=sink.url`` (another process, e.g. a worker) or ``override_settings(**sink.settings())``
(this process). ``fail_next()`` answers the next deliveries with an error, to test retries.

Use it as the ``smtp_sink`` pytest fixture: import the fixture into a ``conftest.py``
(``from hankoflow.testing.smtp import smtp_sink  # noqa: F401``) or list the module in the root
conftest's ``pytest_plugins``. Needs ``aiosmtpd`` (pinned in requirements.txt).
"""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest

CODE_LINE = re.compile(r"^\s*([0-9A-Za-z]{6})\s*$", re.MULTILINE)


@dataclass(frozen=True)
class SinkMessage:
    """One accepted message: the SMTP envelope and the parsed email."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        # Stripped: Python folds a long encoded subject onto a continuation line, and parsing
        # that back keeps the fold's leading space.
        return str(self.message["Subject"] or "").strip()

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content().replace("\r\n", "\n") if part is not None else ""

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content().replace("\r\n", "\n") if part is not None else ""

    @property
    def code(self) -> str | None:
        """The passcode: the first line of the text part that is six letters/digits alone."""
        found = CODE_LINE.search(self.text)
        return found.group(1) if found else None


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        failure = self._sink._take_failure()
        if failure is not None:
            return failure
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self._sink._accept(
            SinkMessage(
                mail_from=envelope.mail_from,
                rcpt_tos=tuple(envelope.rcpt_tos),
                message=parsed,  # type: ignore[arg-type]
            )
        )
        return "250 OK: stored by the test sink"


class SmtpSink:
    """An SMTP server on ``host:port`` that stores every message; start/stop or ``with``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._messages: list[SinkMessage] = []
        self._claimed_by_address: dict[str, int] = {}
        self._failures: list[str] = []
        self._changed = threading.Condition()
        self._controller: Any = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        sink = self

        class _Controller(Controller):
            def _trigger_server(self) -> None:
                # Bound to port 0: learn the port the OS chose before aiosmtpd connects to it.
                self.port = self.server.sockets[0].getsockname()[1]
                sink.port = self.port
                super()._trigger_server()

        self._controller = _Controller(
            _Handler(self), hostname=self.host, port=self.port, server_hostname="smtp-sink.test"
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- where to send ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        """For ``EMAIL_URL`` (django-environ): plain SMTP, no TLS, no login."""
        return f"smtp://{self.host}:{self.port}"

    def settings(self) -> dict[str, Any]:
        """Django settings that send to this sink, for ``override_settings(**...)``."""
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": self.host,
            "EMAIL_PORT": self.port,
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
            "EMAIL_USE_TLS": False,
            "EMAIL_USE_SSL": False,
            "EMAIL_TIMEOUT": 10,
        }

    # -- what arrived ----------------------------------------------------------------------
    @property
    def messages(self) -> list[SinkMessage]:
        with self._changed:
            return list(self._messages)

    def messages_to(self, address: str) -> list[SinkMessage]:
        wanted = address.lower()
        return [m for m in self.messages if wanted in (r.lower() for r in m.rcpt_tos)]

    def wait_for(self, to: str, timeout: float = 10.0) -> SinkMessage:
        """The next message to ``to`` not yet returned by ``wait_for``; waits up to ``timeout`` s.

        Successive calls return successive messages (first the sign-up code, then the login
        code, ...). Raises ``AssertionError`` naming what did arrive when nothing comes.
        """
        wanted = to.lower()
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                seen = self._claimed_by_address.get(wanted, 0)
                matching = [m for m in self._messages if wanted in (r.lower() for r in m.rcpt_tos)]
                if len(matching) > seen:
                    self._claimed_by_address[wanted] = seen + 1
                    return matching[seen]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    arrived = [(m.rcpt_tos, m.subject) for m in self._messages]
                    raise AssertionError(
                        f"no new email to {to} within {timeout} s; the sink holds {arrived}"
                    )
                self._changed.wait(remaining)

    def clear(self) -> None:
        with self._changed:
            self._messages.clear()
            self._claimed_by_address.clear()

    def fail_next(self, count: int = 1, reply: str = "451 4.3.0 Try again later") -> None:
        """Answer the next ``count`` messages with ``reply`` (4xx: transient, 5xx: permanent)."""
        with self._changed:
            self._failures.extend([reply] * count)

    # -- called from the server thread -----------------------------------------------------
    def _take_failure(self) -> str | None:
        with self._changed:
            return self._failures.pop(0) if self._failures else None

    def _accept(self, message: SinkMessage) -> None:
        with self._changed:
            self._messages.append(message)
            self._changed.notify_all()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A started ``SmtpSink`` on 127.0.0.1 and a free port, stopped after the test."""
    with SmtpSink() as sink:
        yield sink
